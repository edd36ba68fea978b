"""The dev echo in a real process: readable lines on its stderr, from forked children too, and a
stderr nobody reads never holds up the program that logs."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import textwrap

import orjson
import pytest

from tests.support.console import record_line

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it

SETUP = """
import logging, os, sys
from core.echo import EchoHandler
handler = EchoHandler("worker", queue_size={queue_size})
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel("INFO")
log = logging.getLogger("tests.echo")
"""
NOTED = re.compile(r"^\(echo: (\d+) log records not shown, stderr fell behind\)$")
LINE = record_line(r"(\w+) +worker +(.*)")


def _script(body: str, queue_size: int = 10_000) -> list[str]:
    code = SETUP.format(queue_size=queue_size) + textwrap.dedent(body)
    return [sys.executable, "-c", code]


def test_records_show_on_stderr_with_tracebacks_and_from_forked_children() -> None:
    body = """
        log.info("hello %s", "world", extra={"request_id": "r-1"})
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("it failed")
        child = os.fork()
        if child == 0:
            log.warning("from the child %d", os.getpid())
            logging.shutdown()
            os._exit(0)
        os.waitpid(child, 0)
        log.info("parent again")
    """
    result = subprocess.run(_script(body), capture_output=True, text=True, timeout=60, check=True)
    lines = result.stderr.splitlines()
    records = [LINE.match(line) for line in lines]
    shown = [(m.group(1), m.group(2)) for m in records if m]
    assert shown[:2] == [
        ("INFO", "tests.echo: hello world [r-1]"),
        ("ERROR", "tests.echo: it failed"),
    ]
    assert shown[2][0] == "WARNING" and shown[2][1].startswith("tests.echo: from the child ")
    assert shown[3] == ("INFO", "tests.echo: parent again")
    traceback = lines[lines.index(next(line for line in lines if "it failed" in line)) + 1 :]
    assert traceback[0] == "    Traceback (most recent call last):"  # indented under it
    assert "    ZeroDivisionError: division by zero" in traceback


def test_a_stderr_nobody_reads_drops_echoed_lines_instead_of_blocking() -> None:
    body = """
        for n in range(20_000):
            log.info("record %d of a burst, long enough to fill a pipe quickly", n)
        print(f"done {handler.dropped}", flush=True)
        sys.stdin.readline()  # until the test has seen "done"
    """
    with subprocess.Popen(
        _script(body, queue_size=500),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        # Nothing reads stderr yet: if a full pipe blocked the caller, "done" would never come.
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the program that logs was held up by its stderr"
        done, dropped = process.stdout.readline().split()
        assert done == "done" and int(dropped) > 0
        _, stderr = process.communicate("\n", timeout=60)
    assert process.returncode == 0, stderr[-2000:]
    lines = stderr.splitlines()
    assert lines[0].endswith("record 0 of a burst, long enough to fill a pipe quickly")
    noted = [NOTED.match(line) for line in lines if line.startswith("(echo: ")]
    assert all(noted) and sum(int(m.group(1)) for m in noted if m) == int(dropped)
    assert len([line for line in lines if LINE.match(line)]) == 20_000 - int(dropped)


def test_it_renders_what_the_log_server_is_sent() -> None:
    """The echo's line is the console rendering of the very document the handler ships."""
    body = """
        from core.console import render
        from core.records import RecordEncoder
        record = log.makeRecord("tests.echo", 20, "f", 1, "m %d", (1,), None, extra={"x": 1})
        handler.handle(record)
        handler.flush()
        print(orjson.dumps(RecordEncoder("worker", "app").document(record)).decode())
    """
    result = subprocess.run(
        _script("import orjson\n" + textwrap.dedent(body)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    from core.console import render

    doc = orjson.loads(result.stdout)
    assert result.stderr.splitlines() == [render(doc)]
