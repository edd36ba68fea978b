"""The dev echo in a stack started as `make dev` starts it: each component's records, readable,
in its process-compose pane (its log file under .state/process-compose/), tracebacks in full,
and the same records once each in the log server's files; with LOG_ECHO=false, only the
start-up lines."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from functools import partial

import asyncpg
import httpx2 as httpx
import orjson
import pytest

from core.components import COMPONENTS
from core.console import render
from core.logging import PROBE_PATHS
from core.settings import Settings
from logserver.reader import records
from tests.support.console import RECORD, plain
from tests.support.processes import wait_for
from tests.support.stack import start, stop

pytestmark = pytest.mark.stack

PYTHON_COMPONENTS = tuple(
    c.name for c in COMPONENTS if c.name not in {"postgres", "redis", "migrate"}
)


def pane(settings: Settings, process: str) -> list[str]:
    """What the process's pane shows: process-compose's log file of it, one line per line."""
    path = settings.state_dir / "process-compose" / f"{process}.log"
    complete = path.read_bytes().split(b"\n")[:-1]  # the last line may be half written
    lines = (orjson.loads(line) for line in complete)
    return [plain(doc.get("message", "")) for doc in lines]


def echoed(lines: list[str]) -> list[str]:
    """The records in a pane: each from its first line (time, level...) to the next record's."""
    found: list[str] = []
    for line in lines:
        if RECORD.match(line):
            found.append(line)
        elif found:
            found[-1] += "\n" + line
    return found


def stored(settings: Settings, component: str) -> list[str]:
    """The component's records in the log server's files, rendered as the echo renders them
    (but the access records of passed probes, which it leaves out)."""
    return [
        render(doc)
        for doc in records(settings.logs_dir)
        if doc.get("component") == component
        and doc.get("stream") not in TRACE_STREAMS
        and not _passed_probe(doc)
    ]


# Spans (and OTLP logs) the log server receives over OTLP: stored, never echoed in a pane.
TRACE_STREAMS = ("spans", "otlp")


def _passed_probe(doc: dict[str, object]) -> bool:
    status = doc.get("status")
    return doc.get("path") in PROBE_PATHS and isinstance(status, int) and status < 400


def record_after(records_shown: list[str], first_line: str) -> str:
    return next(record for record in records_shown if record.splitlines()[0].endswith(first_line))


def same_records(settings: Settings, component: str) -> bool:
    shown = Counter(echoed(pane(settings, component)))
    return bool(shown) and shown == Counter(stored(settings, component))


async def _rename_table(settings: Settings, old: str, new: str) -> None:
    connection = await asyncpg.connect(settings.postgres_dsn)
    try:
        await connection.execute(f'ALTER TABLE "{old}" RENAME TO "{new}"')
    finally:
        await connection.close()


@pytest.fixture
def echo_stack(stack_settings: tuple[Settings, dict[str, str]]) -> Iterator[Settings]:
    settings, overrides = stack_settings
    up = start(settings, overrides, "echo")
    try:
        yield settings
    finally:
        stop(settings, up)


def test_each_pane_shows_its_records_readably_and_the_log_server_has_them_once(
    echo_stack: Settings,
) -> None:
    settings = echo_stack
    api_port = settings.port("api_port")
    launched, listening = pane(settings, "api")[:2]
    assert launched.startswith("--> ") and launched.endswith("python -m app")
    address = f"api: http://127.0.0.1:{api_port}"
    assert listening.startswith(f"{address} (docs at /docs), served by uvicorn, reloading ")
    assert listening.endswith(" app/, core/ and sql/")
    greeting, failing, task = (f"echo-{uuid.uuid4().hex[:8]}" for _ in range(3))
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as http:
        assert http.get("/api/v1/user/greeting", headers={"X-Request-ID": greeting}).is_success
        # A real failure, provoked from outside: the table the route reads is gone for a moment.
        asyncio.run(_rename_table(settings, "users", "users_away"))
        try:
            broken = http.get("/api/v1/users/1", headers={"X-Request-ID": failing})
        finally:
            asyncio.run(_rename_table(settings, "users_away", "users"))
        assert broken.status_code == 500
        # part: background
        queued = http.post(
            "/api/v1/tasks/user_report", json={"user_id": 2**31 - 1}, headers={"X-Request-ID": task}
        )
        assert queued.status_code == 202, queued.text
        # end part: background

    # The stack traces (scripts/stack.py): the line ends with the short trace id to copy.
    access_line = re.compile(
        rf"^\S+ INFO    api       GET /api/v1/user/greeting 200 [\d.]+ms trace=[0-9a-f]{{8}} "
        rf"\[{greeting}\]$"
    )
    wait_for(
        lambda: any(access_line.match(line) for line in pane(settings, "api")),
        timeout=20,
        what="the greeting's access line in the api's pane",
    )
    # part: background
    wait_for(
        lambda: any("UserNotFound" in record for record in echoed(pane(settings, "worker"))),
        timeout=30,
        what="the failed task in the worker's pane",
    )
    # end part: background
    api_records = echoed(pane(settings, "api"))
    failure = record_after(
        api_records, f"app.errors: unhandled error while serving /api/v1/users/1 [{failing}]"
    )
    assert failure.splitlines()[1] == "    Traceback (most recent call last):"
    assert "sqlalchemy.exc.ProgrammingError" in failure and 'relation "users"' in failure
    assert "/app/services/users.py" in failure  # the frames of the project's code, in full
    # part: background
    raised = next(r for r in echoed(pane(settings, "worker")) if "UserNotFound" in r)
    header, *traceback = raised.splitlines()
    assert " ERROR   worker    celery.app.trace: Task worker.tasks.build_user_report[" in header
    assert header.endswith(f"[{task}]")
    assert traceback[0] == "    Traceback (most recent call last):"
    assert traceback[-1] == f"    worker.users.UserNotFound: user {2**31 - 1} not found"
    # end part: background

    for component in PYTHON_COMPONENTS:
        shown = pane(settings, component)
        assert any(line.startswith(f"{component}: ") for line in shown[:3]), shown[:3]
        assert any(re.match(rf"\S+ \w+ +{component} ", r) for r in echoed(shown)), shown[:9]
    for component in {"api", "worker"} & set(PYTHON_COMPONENTS):
        wait_for(
            partial(same_records, settings, component),
            timeout=20,
            what=f"the {component}'s pane and the log server's files to hold the same records",
        )


def test_with_log_echo_off_the_panes_show_only_the_start_up_lines(
    stack_settings: tuple[Settings, dict[str, str]],
) -> None:
    settings, overrides = stack_settings
    up = start(settings, {**overrides, "LOG_ECHO": "false"}, "quiet")
    try:
        rid = f"quiet-{uuid.uuid4().hex[:8]}"
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.api_port}", timeout=10) as http:
            assert http.get("/api/v1/user/greeting", headers={"X-Request-ID": rid}).is_success
        wait_for(
            lambda: any(doc.get("request_id") == rid for doc in records(settings.logs_dir)),
            timeout=20,
            what="the greeting's access record in the log server's files",
        )
        api = pane(settings, "api")
        assert len(api) == 2 and api[0].startswith("--> ") and api[1].startswith("api: http://")
        for component in PYTHON_COMPONENTS:
            shown = pane(settings, component)
            assert any(line.startswith(f"{component}: ") for line in shown[:3]), shown[:3]
            assert not echoed(shown), (component, echoed(shown)[:3])
        # The log server's own records have no other home: JSON lines, as without the echo.
        own = [line for line in pane(settings, "logserver")[1:] if not line.startswith("log")]
        assert own and {orjson.loads(line)["component"] for line in own} == {"logserver"}
    finally:
        stop(settings, up)
