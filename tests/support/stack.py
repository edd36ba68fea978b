"""The dev stack as the tests run it: `dev up --no-tui` (what `make dev` runs without a terminal)
on the test's settings, waited for until every process is ready, and stopped cleanly."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from typing import Any

import httpx2 as httpx
import yaml

from core.settings import DEFAULT_PORTS, Settings
from scripts import stack
from scripts.supervise import SupervisionError, command_line, kill, leftovers
from tests.support.console import plain
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess, wait_for

# Long-running processes and one-shots, as process-compose.yaml declares them (restart "no").
PROCESSES = yaml.safe_load(stack.CONFIG.read_text())["processes"]
ONE_SHOT = {
    name for name, p in PROCESSES.items() if p.get("availability", {}).get("restart") == "no"
}
LONG_RUNNING = set(PROCESSES) - ONE_SHOT


def processes(settings: Settings) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in stack.processes(settings)}


def all_ready(settings: Settings) -> bool:
    """Every process of process-compose.yaml reported, and all of them ready (stack.all_ready)."""
    return set(processes(settings)) == LONG_RUNNING | ONE_SHOT and stack.all_ready(settings)


def start(settings: Settings, overrides: dict[str, str], run: str) -> ServiceProcess:
    """`dev up --no-tui`, once every process is ready; stopped here if it never gets there (the
    caller's `finally` only covers a stack that started)."""
    log_dir = settings.state_dir / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    up = ServiceProcess(
        f"dev-up-{run}", [DEV, "up", "--no-tui"], {**os.environ, **overrides}, log_dir
    ).start()
    try:
        up.wait_until(lambda: all_ready(settings), timeout=120)
    except BaseException:
        abort(settings, up)
        raise
    return up


def abort(settings: Settings, up: ServiceProcess) -> None:
    """Stops a stack that failed: `dev down`, the `dev up` process group, then any process of
    the run still alive (process-compose starts each in a process group of its own)."""
    subprocess.run(
        [DEV, "down"], env=stack.environment(settings), check=False, capture_output=True, timeout=60
    )
    up.stop()
    kill(leftovers(settings.state_dir, {})[0])


def stop(settings: Settings, up: ServiceProcess) -> None:
    subprocess.run([DEV, "down"], env=stack.environment(settings), check=True, capture_output=True)
    assert up.process is not None
    assert up.process.wait(timeout=60) == 0, up.output()[-3000:]
    ports = {name: settings.port(name) for name in DEFAULT_PORTS}
    wait_until_gone(settings)
    bound = leftovers(settings.state_dir, ports)[1]
    assert bound == [], f"ports still bound after the stack stopped: {bound}"
    # A clean stop: each one signalled once, each exiting 0 (a worker signalled twice would
    # cold-shut-down, killing its running tasks), and what uses the stores stopped before them.
    exits = exited(settings)
    assert {name: code for name, code, _ in exits} == dict.fromkeys(LONG_RUNNING | ONE_SHOT, 0)
    order = [name for name, _, _ in exits]
    for user in {"api", "worker"} & set(order):
        for store in ("postgres", "redis"):
            assert order.index(user) < order.index(store), order


def wait_until_gone(settings: Settings, timeout: float = 30) -> None:
    """Waits for every process of the run (its STATE_DIR in their environment) to exit; fails
    naming those still alive, after killing them, so that the next test starts clean."""
    try:
        wait_for(lambda: not leftovers(settings.state_dir, {})[0], timeout, "every process to exit")
    except SupervisionError as error:
        left = leftovers(settings.state_dir, {})[0]
        named = "; ".join(f"{pid}: {' '.join(command_line(pid) or ['(gone)'])}" for pid in left)
        kill(left)
        raise AssertionError(f"{error}; still running: {named}") from None


def exited(settings: Settings) -> list[tuple[str, int, str]]:
    """(process, exit code, time) of each process's last exit, in order, from process-compose's
    own log."""
    log = plain((settings.state_dir / "process-compose" / "process-compose.log").read_text())
    found = re.findall(r"^(\S+ \S+) .*?Exited\s+exit_code=(-?\d+)\s+process=(\w+)", log, re.M)
    last = {name: (name, int(code), when) for when, code, name in found}
    return sorted(last.values(), key=lambda exit: exit[2])


def exercise_api(base: str) -> None:
    """The user routes, each once, against the api at `base`."""
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/api/v1/user/greeting").json() == {"message": "Hello, World!"}
        first = http.get("/api/v1/user/counter").json()["counter"]
        assert http.get("/api/v1/user/counter").json()["counter"] == first + 1
        created = http.post(
            "/api/v1/users", json={"username": f"u{uuid.uuid4().hex[:6]}", "email": "u@example.com"}
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        page = http.get("/api/v1/user/list", params={"page_size": 100}).json()
        assert user_id in [item["id"] for item in page["items"]]
        assert http.patch(f"/api/v1/users/{user_id}", json={"age": 9}).json()["age"] == 9
        assert http.delete(f"/api/v1/users/{user_id}").status_code == 204
        assert http.get(f"/api/v1/users/{user_id}").status_code == 404
