"""`python -m app` in production: each server API_SERVER chooses serves the app, logs each
request (to the log server, or as JSON lines on stderr without it), and stops cleanly on
SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import orjson
import pytest

from logserver.reader import records  # part: logserver
from scripts.probes import http_ok
from scripts.supervise import server_pids
from tests.support.logserver import InProcessLogServer  # part: logserver
from tests.support.processes import ServiceProcess, free_port, wait_for

# The settings that leave the log server out (production requires its token all the same).
NO_LOG_SERVER: dict[str, str] = {
    # part: logserver
    "LOGSERVER_ENABLED": "false",
    "LOGSERVER_TOKEN": "unused-here",
    # end part: logserver
}


def _production_env(server: str, workers: int, port: int, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "API_SERVER": server,
        "API_RELOAD": "false",
        "API_WORKERS": str(workers),
        "API_PORT": str(port),
        "PORT_OFFSET": "0",
        "STATE_DIR": str(tmp_path / "state"),
        "POSTGRES_PASSWORD": "unused-here",
        "LOG_LEVEL": "INFO",
        "DEBUG": "",
    }


# part: logserver
@pytest.mark.parametrize(("server", "workers"), [("granian", 1), ("granian", 2), ("uvicorn", 1)])
def test_production_server_serves_logs_each_request_and_stops_cleanly(
    server: str, workers: int, tmp_path: Path, logserver: InProcessLogServer
) -> None:
    port = free_port()
    # granian forks its workers after our logging is set up: each must ship its own records.
    env = {
        **_production_env(server, workers, port, tmp_path),
        "LOGSERVER_ENABLED": "true",
        "LOGSERVER_HOST": "127.0.0.1",
        "LOGSERVER_PORT": str(logserver.port),
        "LOGSERVER_TOKEN": "test-token",  # production requires one (this server takes any)
    }
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


# end part: logserver


def test_without_the_log_server_each_request_is_a_json_line_on_stderr(tmp_path: Path) -> None:
    port = free_port()
    # Two workers, forked after our logging is set up: each writes its own records.
    env = {**_production_env("granian", 2, port, tmp_path), **NO_LOG_SERVER}
    with ServiceProcess("api", [sys.executable, "-m", "app"], env, tmp_path, signal.SIGTERM) as api:
        api.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 60, "/health")
        for _ in range(20):
            assert http_ok(f"http://127.0.0.1:{port}/health")

        def logged() -> list[dict[str, object]]:
            docs = [orjson.loads(line) for line in api.output().splitlines() if line[:1] == "{"]
            return [doc for doc in docs if doc.get("stream") == "access"]

        wait_for(lambda: len(logged()) >= 21, 20, "the access records of /health")
        assert {(doc["component"], doc["path"]) for doc in logged()} == {("api", "/health")}
        assert api.stop(timeout=20) == 0, api.tail()


def test_granian_replaces_a_worker_that_died(tmp_path: Path) -> None:
    port = free_port()
    env = {**_production_env("granian", 1, port, tmp_path), **NO_LOG_SERVER}
    with ServiceProcess("api", [sys.executable, "-m", "app"], env, tmp_path, signal.SIGTERM) as api:
        health = f"http://127.0.0.1:{port}/health"
        api.wait_until(lambda: http_ok(health), 60, "/health")
        (worker,) = server_pids(api.pid)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: server_pids(api.pid) - {worker} != set(), 30, "a new worker")
        api.wait_until(lambda: http_ok(health), 30, "/health from the new worker")
        assert api.stop(timeout=20) == 0, api.tail()
