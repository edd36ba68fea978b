"""`python -m app` in production: each server API_SERVER chooses serves the app, ships its access
log to the log server, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from logserver.reader import records
from scripts.probes import http_ok
from scripts.supervise import server_pids
from tests.support.logserver import InProcessLogServer
from tests.support.processes import ServiceProcess, free_port, wait_for


def _production_env(
    server: str, workers: int, port: int, tmp_path: Path, logserver_port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "API_SERVER": server,
        "API_RELOAD": "false",
        "API_WORKERS": str(workers),
        "API_PORT": str(port),
        "PORT_OFFSET": "0",
        "STATE_DIR": str(tmp_path / "state"),
        "LOGSERVER_ENABLED": "true",
        "LOGSERVER_HOST": "127.0.0.1",
        "LOGSERVER_PORT": str(logserver_port),
        "LOGSERVER_TOKEN": "test-token",  # production requires one (this server takes any)
        "POSTGRES_PASSWORD": "unused-here",
        "LOG_LEVEL": "INFO",
        "DEBUG": "",
    }


@pytest.mark.parametrize(("server", "workers"), [("granian", 1), ("granian", 2), ("uvicorn", 1)])
def test_production_server_serves_logs_each_request_and_stops_cleanly(
    server: str, workers: int, tmp_path: Path, logserver: InProcessLogServer
) -> None:
    port = free_port()
    # granian forks its workers after our logging is set up: each must ship its own records.
    env = _production_env(server, workers, port, tmp_path, logserver.port)
    api = ServiceProcess("api", [sys.executable, "-m", "app"], env, tmp_path, signal.SIGTERM)
    with api:
        api.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 60, "/health")
        for _ in range(20):
            assert http_ok(f"http://127.0.0.1:{port}/health")

        def logged() -> list[dict[str, object]]:
            return [doc for doc in records(logserver.base, ["access"]) if doc["path"] == "/health"]

        wait_for(lambda: len(logged()) >= 21, 20, "the access records of /health")
        assert {doc["component"] for doc in logged()} == {"api"}
        # uvicorn re-raises the signal once it has shut down gracefully; granian exits 0.
        assert api.stop(timeout=20) in (0, -signal.SIGTERM), api.tail()
    # The server's own lines (start-up, shutdown) reach the log server too, not stdout.
    loggers = {doc["logger"] for doc in records(logserver.base, ["app"])}
    assert loggers & {"_granian", "uvicorn.error"}, loggers


def test_granian_replaces_a_worker_that_died(tmp_path: Path, logserver: InProcessLogServer) -> None:
    port = free_port()
    env = _production_env("granian", 1, port, tmp_path, logserver.port)
    with ServiceProcess("api", [sys.executable, "-m", "app"], env, tmp_path, signal.SIGTERM) as api:
        health = f"http://127.0.0.1:{port}/health"
        api.wait_until(lambda: http_ok(health), 60, "/health")
        (worker,) = server_pids(api.pid)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: server_pids(api.pid) - {worker} != set(), 30, "a new worker")
        api.wait_until(lambda: http_ok(health), 30, "/health from the new worker")
        assert api.stop(timeout=20) == 0, api.tail()
