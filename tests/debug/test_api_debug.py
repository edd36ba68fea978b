"""The api under `dev run api --debug`, driven through debugpy's adapter as VS Code drives it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from core.settings import ROOT
from scripts.probes import http_ok
from tests.debug.dap import DapClient
from tests.debug.sessions import (
    attach,
    attach_config,
    follow_subprocesses,
    line_of,
    stopped_frame,
)
from tests.support.paths import DEV, TEST_STATE
from tests.support.processes import ServiceProcess, free_port, listening_addresses

ROUTE = ROOT / "app" / "api" / "routes" / "benchmark.py"


@pytest.fixture
def debugged_api() -> Iterator[tuple[int, int]]:
    api_port, debug_port = free_port(), free_port()
    log_dir = TEST_STATE / "debug-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "DEBUG_PORT_API": str(debug_port),
        "LOGSERVER_ENABLED": "false",  # part: logserver
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "DEBUG": "",
    }
    with ServiceProcess("api-debug", [DEV, "run", "api", "--debug"], env, log_dir) as api:
        api.wait_until(lambda: http_ok(f"http://127.0.0.1:{api_port}/health"), timeout=60)
        yield api_port, debug_port


def greet_in_background(port: int) -> tuple[threading.Thread, list[httpx.Response]]:
    responses: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: responses.append(
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/user/greeting",
                params={"name": "Debugger"},
                timeout=60,
            )
        )
    )
    thread.start()
    return thread, responses


def hit_greeting_breakpoint(api_port: int, sessions: list[DapClient], line: int) -> None:
    thread, responses = greet_in_background(api_port)
    session, frame, local_variables = stopped_frame(sessions)
    assert Path(frame["source"]["path"]) == ROUTE
    assert frame["line"] == line
    assert local_variables["name"]["value"] == "'Debugger'"
    assert responses == [], "the request finished while stopped at the breakpoint"
    session.request("continue", {"threadId": frame["threadId"]})
    thread.join(timeout=30)
    assert responses[0].status_code == 200
    assert responses[0].json() == {"message": "Hello, Debugger!"}


def test_breakpoint_in_the_greeting_handler_hits_and_survives_a_reload(
    debugged_api: tuple[int, int],
) -> None:
    api_port, debug_port = debugged_api
    line = line_of(ROUTE, 'message = f"Hello, {name}!"')
    breakpoints = {ROUTE: [line]}
    parent = attach(debug_port, attach_config(debug_port), breakpoints)
    sessions = [parent]
    try:
        sessions += follow_subprocesses(parent, debug_port, breakpoints)
        hit_greeting_breakpoint(api_port, sessions, line)
        os.utime(ROUTE)  # an edit, as far as the reloader can tell
        sessions += follow_subprocesses(parent, debug_port, breakpoints)
        hit_greeting_breakpoint(api_port, sessions, line)
    finally:
        for session in sessions:
            session.close()


def test_debug_port_is_bound_to_loopback_only(debugged_api: tuple[int, int]) -> None:
    _, debug_port = debugged_api
    assert listening_addresses(debug_port) == ["127.0.0.1"]
