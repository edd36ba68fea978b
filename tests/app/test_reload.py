"""`dev run api` in dev: an edit under app/ restarts the server (forked by app/reloader.py),
and the new server runs the code as it now is on disk."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx

from core.settings import ROOT
from scripts.isolated import isolated_run
from scripts.supervise import server_pids
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess

ROUTE = ROOT / "app" / "api" / "routes" / "benchmark.py"
GREETING = b'message = f"Hello, {name}!"'
RELOAD_SECONDS = 30


def greeting(port: int) -> str | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/user/greeting", timeout=2)
    except httpx.HTTPError:
        return None
    return str(response.json()["message"]) if response.status_code == 200 else None


def test_an_edit_reloads_the_api_and_the_new_server_runs_the_new_code(tmp_path: Path) -> None:
    run = isolated_run(
        tmp_path / "state", environment="dev", api_reload="true", logserver_enabled="false"
    )
    port, env = run.settings.port("api_port"), run.env
    original = ROUTE.read_bytes()
    assert GREETING in original
    with ServiceProcess("api-reload", [DEV, "run", "api"], env, tmp_path) as api:
        api.wait_until(lambda: greeting(port) == "Hello, World!", 60)
        first = server_pids(api.pid)
        try:
            ROUTE.write_bytes(original.replace(GREETING, b'message = f"Hello again, {name}!"'))
            api.wait_until(
                lambda: greeting(port) == "Hello again, World!",
                RELOAD_SECONDS,
                "to serve the edited route",
            )
        finally:
            ROUTE.write_bytes(original)
        api.wait_until(
            lambda: greeting(port) == "Hello, World!",
            RELOAD_SECONDS,
            "to serve the route as it was",
        )
        assert len(first) == 1 and not first & server_pids(api.pid)  # a new server, same reloader
        assert api.stop() == 0, api.output()
    log = api.output()
    assert "Reloader holds" in log, log  # the second server was forked with the libraries loaded
    assert log.count('"message":"Started server process') == 3, log
    libraries = (tmp_path / "state" / "run" / "api-libraries.txt").read_text().split()
    project = {"core", "app", "worker", "logserver", "scripts"}
    assert "fastapi" in libraries and not project & {name.split(".")[0] for name in libraries}

    # The next run loads that list before its first server.
    with ServiceProcess("api-restart", [DEV, "run", "api"], env, tmp_path) as again:
        again.wait_until(lambda: greeting(port) == "Hello, World!", 60)
        assert again.stop() == 0
    assert f"Reloader loaded {len(libraries)} library modules" in again.output(), again.output()
