"""One record as a readable line: what the dev echo writes and the log server's tail prints."""

from __future__ import annotations

import pytest

from core.console import COMPONENT_COLOURS, render
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
    traced = {**doc, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
    assert render(traced) == (
        "02:36:23.123 INFO    api       GET /api/v1/user/greeting 200 0.52ms trace=4bf92f35 [5f0c]"
    )


def test_an_app_record_has_its_logger_and_its_traceback_in_full_indented() -> None:
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: no\n'
    doc = {
        "ts": "2026-12-02T02:36:23.123Z",
        "level": "ERROR",
        "logger": "jobs.trace",
        "component": "worker",
        "message": "Task failed",
        "exc": traceback,
    }
    assert render(doc).splitlines() == [
        "02:36:23.123 ERROR   worker    jobs.trace: Task failed",
        *("    " + row for row in traceback.splitlines()),
    ]


def test_a_record_from_any_sender_still_renders() -> None:
    doc = {"received_at": "2026-12-02T02:36:23.999Z", "peer": "127.0.0.1:4000", "n": 1}
    rest = '{"received_at":"2026-12-02T02:36:23.999Z","peer":"127.0.0.1:4000","n":1}'
    assert render(doc) == f"02:36:23.999 -       127.0.0.1:4000 {rest}"
    assert render({"ts": "yesterday", "message": "m"}) == "yesterday -       -         m"


def test_control_characters_cannot_drive_the_terminal() -> None:
    doc = {"ts": "t", "level": "INFO", "message": "a\x1b[2Jb\rc\td\ne", "request_id": "\x07"}
    line = render(doc, colour=False)
    assert "\x1b" not in line and "\r" not in line and "\x07" not in line and "\n" not in line
    assert "a\\x1b[2Jb\\x0dc\td\\ne" in line and line.endswith("[\\x07]")


# Each field a sender controls, holding each kind of control: C0 (clear screen, bell, carriage
# return), a newline, DEL, C1 (CSI, which some terminals take for ESC [) and a bidi override.
HOSTILE = "\x1b[2J\x07\r\n\x7f\x9b31m\u202eevil"
SHOWN = "\\x1b[2J\\x07\\x0d\\n\\u007f\\u009b31m\\u202eevil"


@pytest.mark.parametrize("field", ["ts", "level", "component", "logger", "message", "request_id"])
def test_every_field_a_sender_sets_renders_inert(field: str) -> None:
    doc = {"ts": "2026-12-02T02:36:23.123Z", "level": "INFO", "component": "api", "message": "m"}
    doc[field] = HOSTILE if field != "ts" else "2026-12-02T" + HOSTILE
    line = render(doc, colour=False)
    assert not any(code in line for code in "\x1b\x07\r\n\x7f\x9b\u202e"), line
    if field != "ts":  # the time shows a slice of ts (inert too)
        assert SHOWN in line


def test_an_access_path_holding_a_newline_shows_on_one_line() -> None:
    # GET /%0a15:00:00.000%20CRITICAL%20api%20fake: the path as the api logs it, decoded.
    doc = {
        "ts": "2026-12-02T02:36:23.123Z",
        "level": "INFO",
        "component": "api",
        "method": "GET\u202e",
        "path": "/\n15:00:00.000 CRITICAL api fake",
        "status": 404,
    }
    assert render(doc).splitlines() == [
        "02:36:23.123 INFO    api       GET\\u202e /\\n15:00:00.000 CRITICAL api fake 404"
    ]


def test_a_traceback_keeps_its_newlines_but_not_its_controls() -> None:
    doc = {"ts": "t", "level": "ERROR", "message": "m", "exc": "Traceback\n\x1b[2J\u202eboom\r"}
    lines = render(doc).splitlines()
    assert lines[1:] == ["    Traceback", "    \\x1b[2J\\u202eboom\\x0d"]


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
