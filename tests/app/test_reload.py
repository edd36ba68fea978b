"""`dev run api` in dev: an edit under app/ restarts the server (forked by app/reloader.py),
and the new server runs the code as it now is on disk.

The api runs from a copy of the project's packages: `dev` (scripts.dev, imported from the
copy, since Python puts the working directory first) works at the copy's root, where `python -m
app` imports the copy's app. The test edits the copy, so the checkout stays untouched even when
the run is killed midway."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from core.settings import ROOT
from scripts.isolated import isolated_run
from scripts.probes import get
from scripts.supervise import server_pids
from tests.support.processes import ServiceProcess

PACKAGES = tuple(
    p
    for p in (
        "app",
        "core",
        "logserver",  # part: logserver
        "worker",
        "scripts",
        "sql",
    )
    if (ROOT / p).is_dir()
)
DEV_RUN_API = [sys.executable, "-c", "from scripts.dev import main; main()", "run", "api"]
ROUTE = Path("app", "api", "routes", "benchmark.py")
GREETING = b'message = f"Hello, {name}!"'
RELOAD_SECONDS = 30


def greeting(port: int) -> str | None:
    status, body = get(f"http://127.0.0.1:{port}/api/v1/user/greeting", timeout=2)
    return str(body["message"]) if status == 200 else None


def project_copy(where: Path) -> Path:
    """A copy of the project's packages (not its venv or state) under `where`."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, where / package, ignore=ignore)
    return where


def test_an_edit_reloads_the_api_and_the_new_server_runs_the_new_code(tmp_path: Path) -> None:
    run = isolated_run(
        tmp_path / "state",
        environment="dev",
        api_reload="true",
        logserver_enabled="false",  # part: logserver
    )
    port, env = run.settings.port("api_port"), run.env
    project = project_copy(tmp_path / "project")
    route = project / ROUTE
    original = route.read_bytes()
    assert GREETING in original
    with ServiceProcess("api-reload", DEV_RUN_API, env, tmp_path, cwd=project) as api:
        api.wait_until(lambda: greeting(port) == "Hello, World!", 60)
        first = server_pids(api.pid)
        route.write_bytes(original.replace(GREETING, b'message = f"Hello again, {name}!"'))
        api.wait_until(
            lambda: greeting(port) == "Hello again, World!",
            RELOAD_SECONDS,
            "to serve the edited route",
        )
        # The old server answers on the shared socket until the reloader stops it: only once it
        # is gone does "Hello, World!" below come from the server of the edit undone.
        api.wait_until(
            lambda: not first & server_pids(api.pid), RELOAD_SECONDS, "the old server to stop"
        )
        route.write_bytes(original)
        api.wait_until(
            lambda: greeting(port) == "Hello, World!",
            RELOAD_SECONDS,
            "to serve the route as it was",
        )
        assert len(first) == 1 and not first & server_pids(api.pid)  # a new server, same reloader
        assert api.stop() == 0, api.output()
    log = api.output()
    assert "Reloader holds" in log, log  # the second server was forked with the libraries loaded
    assert log.count("Started server process") == 3, log  # echoed: in dev, no JSON beside it
    libraries = (tmp_path / "state" / "run" / "api-libraries.txt").read_text().split()
    packages = set(PACKAGES) - {"sql"}
    assert "fastapi" in libraries and not packages & {name.split(".")[0] for name in libraries}

    # The next run loads that list before its first server.
    with ServiceProcess("api-restart", DEV_RUN_API, env, tmp_path, cwd=project) as again:
        again.wait_until(lambda: greeting(port) == "Hello, World!", 60)
        assert again.stop() == 0
    assert f"Reloader loaded {len(libraries)} library modules" in again.output(), again.output()
