"""Records as lines for a person to read: what the dev echo (`core.echo`) writes to each
component's stderr, and what the log server's `tail` prints. One renderer, so the two cannot
drift.

    02:36:23.123 INFO    api       GET /api/v1/user/greeting 200 0.52ms [5f0c...]
    02:36:23.130 ERROR   worker    celery.app.trace: Task worker.tasks.fail[...] raised [5f0c...]
    Traceback (most recent call last):
      ...

Time (UTC, as stored), level, component, then the logger and message, or `METHOD path status
duration` for an access record, and the request id when there is one; an exception's traceback
follows in full, indented. With colour: the level by severity, the component by name, the status
by class.

Whatever a record holds, a sender cannot drive the terminal that shows it: every field goes
through `inert`, which shows control characters (C0, DEL, C1) and bidirectional overrides as
escapes, and newlines too but in a traceback, so a record is one line and nothing else starts at
its left edge.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from typing import IO, Any, Literal

import orjson

ColourChoice = Literal["auto", "always", "never"]

RESET = "\x1b[0m"
DIM = "\x1b[2m"
LEVEL_COLOURS = {
    "DEBUG": DIM,
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "WARN": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
COMPONENT_COLOURS = {
    "api": "\x1b[36m",
    "worker": "\x1b[35m",  # part: background
    "beat": "\x1b[34m",  # part: background
    "flower": "\x1b[32m",  # part: flower
    "logserver": "\x1b[33m",  # part: logserver
}
OTHER_COMPONENT_COLOURS = ("\x1b[96m", "\x1b[95m", "\x1b[94m", "\x1b[92m", "\x1b[93m", "\x1b[91m")
STATUS_COLOURS = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}
EXCEPTION_COLOUR = "\x1b[31m"
# Shown in their own place on the line; a record without a message shows the rest as JSON.
SHOWN_ELSEWHERE = {
    "ts", "level", "component", "stream", "logger", "message", "request_id", "exc", "trace_id",
    "span_id",
}  # fmt: skip
# An access record's trace id is shown by its first characters (`trace=4bf92f35`): enough to
# copy into the log server's `trace` command, which also takes the request id.
SHORT_TRACE_ID = 8
# What a record could carry to move the cursor, recolour or clear a terminal, or reorder what it
# shows, as text: C0 controls (`\x1b`), DEL and C1 controls (`\u009b`, a CSI on its own), and the
# bidirectional controls (`\u202e`). The C1 and bidi forms are JSON escapes, so a JSON line stays
# valid through `inert`. A tab is left as is; a newline only in a traceback.
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_MULTILINE = {
    **{code: f"\\x{code:02x}" for code in range(32) if chr(code) not in "\n\t"},
    **{code: f"\\u{code:04x}" for code in [0x7F, *range(0x80, 0xA0), *_BIDI]},
}
_SINGLE_LINE = {**_MULTILINE, ord("\n"): "\\n"}
TRACEBACK_INDENT = "    "


def wants_colour(choice: ColourChoice, stream: IO[str] | None) -> bool:
    """Colour for `always`; for `auto`, when `stream` is a terminal and NO_COLOR is not set."""
    if choice != "auto":
        return choice == "always"
    if "NO_COLOR" in os.environ:  # https://no-color.org
        return False
    return stream is not None and stream.isatty()


def render(doc: Mapping[str, Any], colour: bool = False) -> str:
    """One record as a line (and its traceback below, in full); see the module docstring."""
    level = inert(str(doc.get("level") or "-"))
    component = inert(str(doc.get("component") or doc.get("peer") or "-"))
    rid = doc.get("request_id")
    parts = [
        paint(DIM, _clock(doc), colour),
        paint(LEVEL_COLOURS.get(level.upper(), ""), f"{level:<7}", colour),
        paint(component_colour(component), f"{component:<9}", colour),
        _body(doc, colour),
    ]
    if rid:
        parts.append(paint(DIM, f"[{inert(str(rid))}]", colour))
    line = " ".join(parts)
    for key in ("exc", "stack"):
        if doc.get(key):
            text = inert(str(doc[key]).rstrip("\n"), multiline=True)
            indented = "\n".join(TRACEBACK_INDENT + row for row in text.split("\n"))
            line += "\n" + paint(EXCEPTION_COLOUR, indented, colour)
    return line


def inert(text: str, multiline: bool = False) -> str:
    """`text` with what could drive a terminal shown as escapes (see the module docstring);
    newlines kept only when `multiline` (a traceback)."""
    return text.translate(_MULTILINE if multiline else _SINGLE_LINE)


def component_colour(component: str) -> str:
    """The component's own colour: fixed for the stack's, one of a few by name for the others."""
    known = COMPONENT_COLOURS.get(component)
    if known is not None:
        return known
    return OTHER_COMPONENT_COLOURS[zlib.crc32(component.encode()) % len(OTHER_COMPONENT_COLOURS)]


def _clock(doc: Mapping[str, Any]) -> str:
    """`HH:MM:SS.mmm` of an ISO 8601 `ts` (or `received_at`), else whatever the record has."""
    when = str(doc.get("ts") or doc.get("received_at") or "-")
    return inert(when[11:23] if len(when) >= 23 and when[10] == "T" else when)


def _body(doc: Mapping[str, Any], colour: bool) -> str:
    if doc.get("method") and isinstance(doc.get("status"), int):
        return _access(doc, colour)
    message = doc.get("message")
    if not isinstance(message, str):
        rest = {key: value for key, value in doc.items() if key not in SHOWN_ELSEWHERE}
        message = orjson.dumps(rest, default=str).decode()
    logger = doc.get("logger")
    return inert(f"{logger}: {message}" if logger else message)


def _access(doc: Mapping[str, Any], colour: bool) -> str:
    """`METHOD path status duration`, the status coloured by its class."""
    status: int = doc["status"]
    duration = doc.get("duration_ms")
    took = f" {duration:.2f}ms" if isinstance(duration, int | float) else ""
    painted = paint(STATUS_COLOURS.get(status // 100, ""), str(status), colour)
    trace_id = doc.get("trace_id")
    traced = f" trace={inert(str(trace_id)[:SHORT_TRACE_ID])}" if trace_id else ""
    return f"{inert(str(doc['method']))} {inert(str(doc.get('path', '-')))} {painted}{took}{traced}"


def paint(code: str, text: str, colour: bool) -> str:
    return f"{code}{text}{RESET}" if colour and code else text
