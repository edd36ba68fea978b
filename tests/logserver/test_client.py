"""The logging handler: what a record carries, and what happens while the server is away."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest

from core.records import ContextFilter
from logserver.client import ClientConfig, LogServerHandler
from logserver.reader import records
from tests.support.logserver import InProcessLogServer, LogServerProcess
from tests.support.processes import free_port

trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.Logger("tests.client", logging.DEBUG)  # outside the global logger tree
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def handler(
    tmp_path: Path, logserver: InProcessLogServer, logger: logging.Logger
) -> LogServerHandler:
    """A handler on `logger`, shipping to the in-process log server."""
    handler = _handler(logserver.port, tmp_path / "spill")
    logger.addHandler(handler)
    return handler


def _handler(port: int, spill: Path, **options: Any) -> LogServerHandler:
    config = ClientConfig("127.0.0.1", port, "tester", spill, stream="client", **options)
    handler = LogServerHandler(config)
    handler.addFilter(ContextFilter({"request_id": trace_id}))
    return handler


@pytest.mark.fast
def test_a_record_carries_the_documented_fields(
    handler: LogServerHandler, logserver: InProcessLogServer, logger: logging.Logger
) -> None:
    token = trace_id.set("req-1")
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("failed %s", "here", extra={"order": 42, "tags": ["a"]})
    finally:
        trace_id.reset(token)
    logger.info("no request")
    assert handler.wait_delivered(10)
    first, second = records(logserver.base, ["client"])
    assert first["ts"].endswith("Z") and first["received_at"].endswith("Z")
    assert {
        k: first[k]
        for k in (
            "level",
            "logger",
            "component",
            "stream",
            "pid",
            "message",
            "request_id",
            "order",
            "tags",
            "sender",
            "seq",
        )
    } == {
        "level": "ERROR",
        "logger": "tests.client",
        "component": "tester",
        "stream": "client",
        "pid": os.getpid(),
        "message": "failed here",
        "request_id": "req-1",
        "order": 42,
        "tags": ["a"],
        "sender": handler.sender,
        "seq": 1,
    }
    assert first["host"] and "ValueError: bad value" in first["exc"]
    assert "request_id" not in second and second["seq"] == 2


@pytest.mark.fast
def test_a_record_shipped_from_its_fields_is_the_line_its_logrecord_makes(
    handler: LogServerHandler, logserver: InProcessLogServer, logger: logging.Logger
) -> None:
    fields = {"stream": "access", "status": 200, "route": "/x", "client": None, "tags": ["a"]}
    token = trace_id.set("req-2")
    try:
        logger.warning("GET %s", "/x", extra=dict(fields))
        handler.emit_fields(logging.WARNING, logger.name, "GET /x", dict(fields))
    finally:
        trace_id.reset(token)
    handler.emit_fields(logging.DEBUG, logger.name, "no request", {"stream": "access"})
    assert handler.wait_delivered(10)
    by_record, by_fields, no_request = records(logserver.base, ["access"])
    per_line = ("ts", "seq", "received_at", "peer")
    same = [{k: v for k, v in doc.items() if k not in per_line} for doc in (by_record, by_fields)]
    assert list(same[0].items()) == list(same[1].items())  # in the same order too
    assert by_fields["request_id"] == "req-2" and "client" not in by_fields
    assert (by_fields["seq"], no_request["level"]) == (2, "DEBUG")
    assert "request_id" not in no_request


def test_records_wait_in_the_spill_file_until_the_server_is_up(
    tmp_path: Path, logger: logging.Logger, capfd: pytest.CaptureFixture[str]
) -> None:
    server = LogServerProcess(tmp_path / "logs", tmp_path)
    spill = tmp_path / "spill"
    first = _handler(server.port, spill, backoff_max=0.1)
    logger.addHandler(first)
    for n in range(50):
        logger.info("before %d", n)
    assert first.wait_flushed(10)  # flushed to the spill file: the server is not running
    logger.removeHandler(first)
    first.close()  # as at the exit of a process: its spill file stays behind
    assert (spill / "tester.jsonl").read_bytes().count(b"\n") == 50
    assert "unreachable" in capfd.readouterr().err

    with server:
        second = _handler(server.port, spill)  # the next process claims and replays it first
        logger.addHandler(second)
        logger.info("after")
        assert second.wait_delivered(10)
    messages = [doc["message"] for doc in records(server.base, ["client"])]
    assert messages == [f"before {n}" for n in range(50)] + ["after"]
    assert (spill / "tester.jsonl").stat().st_size == 0


@pytest.mark.fast
def test_two_live_handlers_of_one_component_spill_to_separate_files(tmp_path: Path) -> None:
    port = free_port()
    handlers = [_handler(port, tmp_path) for _ in range(2)]
    try:
        assert sorted(os.listdir(tmp_path)) == ["tester-2.jsonl", "tester.jsonl"]
    finally:
        for handler in handlers:
            handler.close()


@pytest.mark.fast
def test_a_full_queue_drops_and_says_so(
    tmp_path: Path, logserver: InProcessLogServer, logger: logging.Logger
) -> None:
    handler = _handler(logserver.port, tmp_path / "spill", queue_size=10)
    logger.addHandler(handler)
    for n in range(10_000):
        logger.info("flood %d", n)
    assert handler.wait_delivered(10)
    dropped = handler.dropped
    assert dropped > 0
    logger.info("calm")
    assert handler.wait_delivered(10)
    messages = [doc["message"] for doc in records(logserver.base, ["client"])]
    notices = [m for m in messages if m.endswith("log records (queue or spill file full)")]
    assert sum(int(notice.split()[1]) for notice in notices) == dropped
    assert len([m for m in messages if m.startswith("flood")]) == 10_000 - dropped
    assert messages[-1] == "calm"


@pytest.mark.fast
def test_a_forked_child_ships_under_its_own_sender(
    handler: LogServerHandler, logserver: InProcessLogServer, logger: logging.Logger
) -> None:
    logger.info("parent before fork")
    assert handler.wait_delivered(10)
    pid = os.fork()
    if pid == 0:  # the child: no pytest from here on
        code = 1
        try:
            logger.info("child")
            code = 0 if handler.wait_delivered(10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    logger.info("parent after fork")
    assert handler.wait_delivered(10)
    docs = list(records(logserver.base, ["client"]))
    assert [doc["message"] for doc in docs if doc["pid"] == os.getpid()] == [
        "parent before fork",
        "parent after fork",
    ]
    child = [doc for doc in docs if doc["pid"] == pid]
    assert [doc["message"] for doc in child] == ["child"]
    assert child[0]["sender"] != handler.sender and child[0]["seq"] == 1


def test_a_process_that_exits_delivers_what_it_logged(
    tmp_path: Path, logserver: InProcessLogServer
) -> None:
    script = f"""
import logging
from pathlib import Path
from logserver.client import ClientConfig, LogServerHandler
handler = LogServerHandler(ClientConfig("127.0.0.1", {logserver.port}, "exiting",
                                        Path({str(tmp_path / "spill")!r}), stream="client"))
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
for n in range(2000):
    logging.getLogger("exiting").info("record %d", n)
"""  # no close(), no flush(): logging's own atexit hook must send them
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    messages = [doc["message"] for doc in records(logserver.base, ["client"])]
    assert messages == [f"record {n}" for n in range(2000)]
