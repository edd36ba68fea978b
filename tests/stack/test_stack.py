"""The dev stack under the real process-compose: starts, serves, stops clean, restarts."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import yaml

from core.settings import DEFAULT_PORTS, Settings
from scripts import stack
from scripts.isolated import isolated_run
from scripts.supervise import leftovers
from tests.support.paths import DEV, TEST_STATE
from tests.support.processes import (
    ServiceProcess,
    wait_for,
)

pytestmark = pytest.mark.stack

# Long-running processes and one-shots, as process-compose.yaml declares them (restart "no").
PROCESSES = yaml.safe_load(stack.CONFIG.read_text())["processes"]
ONE_SHOT = {
    name for name, p in PROCESSES.items() if p.get("availability", {}).get("restart") == "no"
}
LONG_RUNNING = set(PROCESSES) - ONE_SHOT


@pytest.fixture
def stack_settings() -> Iterator[tuple[Settings, dict[str, str]]]:
    state_dir = TEST_STATE / f"stack-{uuid.uuid4().hex[:8]}"
    run = isolated_run(state_dir, environment="dev")
    yield run.settings, run.overrides
    subprocess.run(["rm", "-rf", str(state_dir)], check=False)


def processes(settings: Settings) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in stack.processes(settings)}


def all_ready(settings: Settings) -> bool:
    """Every process of process-compose.yaml reported, and all of them ready (stack.all_ready)."""
    return set(processes(settings)) == LONG_RUNNING | ONE_SHOT and stack.all_ready(settings)


def start(settings: Settings, overrides: dict[str, str], run: str) -> ServiceProcess:
    log_dir = settings.state_dir / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    up = ServiceProcess(
        f"dev-up-{run}", [DEV, "up", "--no-tui"], {**os.environ, **overrides}, log_dir
    ).__enter__()
    up.wait_until(lambda: all_ready(settings), timeout=120)
    return up


def stop(settings: Settings, up: ServiceProcess) -> None:
    subprocess.run([DEV, "down"], env=stack.environment(settings), check=True, capture_output=True)
    assert up.process is not None
    assert up.process.wait(timeout=60) == 0, up.output()[-3000:]
    ports = {name: settings.port(name) for name in DEFAULT_PORTS}
    wait_for(
        lambda: not leftovers(settings.state_dir, {})[0],
        timeout=15,
        what="every process of the stack to exit",
    )
    bound = leftovers(settings.state_dir, ports)[1]
    assert bound == [], f"ports still bound after the stack stopped: {bound}"
    # A clean stop: each one signalled once, each exiting 0 (a worker signalled twice would
    # cold-shut-down, killing its running tasks), and what uses the stores stopped before them.
    exits = exited(settings)
    assert {name: code for name, code, _ in exits} == dict.fromkeys(LONG_RUNNING | ONE_SHOT, 0)
    order = [name for name, _, _ in exits]
    for user in ("api", "worker"):
        for store in ("postgres", "redis"):
            assert order.index(user) < order.index(store), order


def exited(settings: Settings) -> list[tuple[str, int, str]]:
    """(process, exit code, time) of each process's last exit, in order, from process-compose's
    own log."""
    log = re.sub(
        r"\x1b\[[0-9;]*m",
        "",
        (settings.state_dir / "process-compose" / "process-compose.log").read_text(),
    )
    found = re.findall(r"^(\S+ \S+) .*?Exited\s+exit_code=(-?\d+)\s+process=(\w+)", log, re.M)
    last = {name: (name, int(code), when) for when, code, name in found}
    return sorted(last.values(), key=lambda exit: exit[2])


def exercise_api(base: str) -> None:
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


def test_stack_serves_stops_clean_and_restarts_on_its_state(
    stack_settings: tuple[Settings, dict[str, str]],
) -> None:
    settings, overrides = stack_settings
    base = f"http://127.0.0.1:{settings.api_port}"
    pg_version = settings.state_dir / "postgres" / "PG_VERSION"

    up = start(settings, overrides, "first")
    try:
        exercise_api(base)
        with httpx.Client(base_url=base, timeout=10) as http:
            keeper = http.post("/api/v1/users", json={"username": "keeper", "email": "k@e.com"})
            counter = http.get("/api/v1/user/counter").json()["counter"]
        cluster = pg_version.stat()
    finally:
        stop(settings, up)

    again = start(settings, overrides, "second")
    try:
        assert (pg_version.stat().st_ino, pg_version.stat().st_mtime) == (
            cluster.st_ino,
            cluster.st_mtime,
        ), "the second start created a new cluster"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get(f"/api/v1/users/{keeper.json()['id']}").status_code == 200
            assert http.get("/api/v1/user/counter").json()["counter"] == counter + 1
        exercise_api(base)
    finally:
        stop(settings, again)
