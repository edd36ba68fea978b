"""One record as a readable line: what `logserver tail` prints and the dev echo writes."""

from __future__ import annotations

import pytest

from logserver.console import COMPONENT_COLOURS, render
from tests.support.console import plain

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def test_an_access_record_reads_method_path_status_duration() -> None:
    doc = {
        "ts": "2026-12-02T02:36:23.123Z",
        "level": "INFO",
        "logger": "app.access",
        "component": "api",
        "stream": "access",
        "method": "GET",
        "path": "/api/v1/user/greeting",
        "status": 200,
        "duration_ms": 0.5213,
        "request_id": "5f0c",
        "message": "GET /api/v1/user/greeting 200 0.52ms",
    }
    line = render(doc)
    assert line == "02:36:23.123 INFO    api       GET /api/v1/user/greeting 200 0.52ms [5f0c]"


def test_an_app_record_has_its_logger_and_its_traceback_in_full() -> None:
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: no\n'
    doc = {
        "ts": "2026-12-02T02:36:23.123Z",
        "level": "ERROR",
        "logger": "celery.app.trace",
        "component": "worker",
        "message": "Task failed",
        "exc": traceback,
    }
    assert render(doc).splitlines() == [
        "02:36:23.123 ERROR   worker    celery.app.trace: Task failed",
        *traceback.splitlines(),
    ]


def test_a_record_from_any_sender_still_renders() -> None:
    doc = {"received_at": "2026-12-02T02:36:23.999Z", "peer": "127.0.0.1:4000", "n": 1}
    rest = '{"received_at":"2026-12-02T02:36:23.999Z","peer":"127.0.0.1:4000","n":1}'
    assert render(doc) == f"02:36:23.999 -       127.0.0.1:4000 {rest}"
    assert render({"ts": "yesterday", "message": "m"}) == "yesterday -       -         m"


def test_control_characters_cannot_drive_the_terminal() -> None:
    doc = {"ts": "t", "level": "INFO", "message": "a\x1b[2Jb\rc\td\ne", "request_id": "\x07"}
    line = render(doc, colour=False)
    assert "\x1b" not in line and "\r" not in line and "\x07" not in line
    assert "a\\x1b[2Jb\\x0dc\td\ne" in line and line.endswith("[\\x07]")


def test_colour_marks_level_component_and_status_and_nothing_else() -> None:
    doc = {
        "ts": "2026-12-02T02:36:23.123Z",
        "level": "ERROR",
        "component": "api",
        "method": "PATCH",
        "path": "/api/v1/users/1",
        "status": 500,
        "duration_ms": 3.0,
    }
    coloured = render(doc, colour=True)
    assert f"{COMPONENT_COLOURS['api']}api" in coloured
    assert "\x1b[31mERROR" in coloured and "\x1b[31m500\x1b[0m" in coloured
    assert plain(coloured) == render(doc)
