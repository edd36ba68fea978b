"""LogRecords as JSON documents: the fields every record carries, plus the caller's extra fields."""

from __future__ import annotations

import itertools
import logging
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import orjson

from logserver.protocol import MAX_LINE_BYTES

# Attributes every LogRecord has; anything else on a record came from `extra=` (or a filter).
_INIT_ATTRS = tuple(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
# "sender" and "seq" are the shipper's (logserver.shipper): extras of those names are left out.
STANDARD_ATTRS = frozenset(_INIT_ATTRS) | {
    "message",
    "asctime",
    "taskName",
    "stream",
    "sender",
    "seq",
}
MAX_MESSAGE_CHARS = 8192
OPTIONS = orjson.OPT_APPEND_NEWLINE
_formatter = logging.Formatter()


class RecordEncoder:
    """Encodes records of one component as JSON lines; safe to share between threads."""

    def __init__(self, component: str, stream: str, host: str | None = None) -> None:
        self.component = component
        self.stream = stream
        self.host = host or socket.gethostname()
        self._second: tuple[int, str] = (-1, "")  # one attribute: replaced atomically

    def document(self, record: logging.LogRecord) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ts": self._timestamp(record.created, record.msecs),
            "level": record.levelname,
            "logger": record.name,
            "component": self.component,
            "stream": record.__dict__.get("stream", self.stream),
            "host": self.host,
            "pid": record.process,
            "message": _message(record),
        }
        if record.exc_info:
            if not record.exc_text:  # cached on the record, as logging.Formatter does
                record.exc_text = _formatter.formatException(record.exc_info)
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        for key, value in _extra_items(record):
            if key not in STANDARD_ATTRS and key not in doc and value is not None:
                doc[key] = value
        return doc

    def encode(self, record: logging.LogRecord) -> bytes:
        """One JSON object and a newline."""
        doc = self.document(record)
        try:
            line = orjson.dumps(doc, default=str, option=OPTIONS)
        except (TypeError, orjson.JSONEncodeError):  # such as a dict with int keys in an extra
            line = orjson.dumps(
                {k: _plain(v) for k, v in doc.items()},
                default=str,
                option=OPTIONS | orjson.OPT_NON_STR_KEYS,
            )
        if len(line) > MAX_LINE_BYTES:
            line = _shortened(doc, len(line))
        return line

    def _timestamp(self, created: float, msecs: float) -> str:
        second = int(created)
        cached, text = self._second
        if second != cached:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(msecs):03d}Z"


def _extra_items(record: logging.LogRecord) -> Iterable[tuple[str, Any]]:
    """The record's attributes after those LogRecord.__init__ sets, which come first (dicts keep
    their insertion order): skipping them by position is much cheaper than testing each."""
    items = record.__dict__.items()
    if len(items) > len(_INIT_ATTRS) and next(iter(record.__dict__)) == _INIT_ATTRS[0]:
        return itertools.islice(items, len(_INIT_ATTRS), None)
    return items


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as error:  # a bad format string must not lose the record
        return f"{record.msg!r} % {record.args!r} (cannot format: {error})"


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def _shortened(doc: dict[str, Any], size: int) -> bytes:
    """A record over the server's line limit keeps its core fields and a cut message."""
    core = ("ts", "level", "logger", "component", "stream", "host", "pid", "request_id")
    short = {key: doc[key] for key in core if key in doc}
    short["message"] = str(doc.get("message", ""))[:MAX_MESSAGE_CHARS]
    short["truncated_from_bytes"] = size
    return orjson.dumps(short, default=str, option=OPTIONS)


class QueueingHandler(logging.Handler):
    """A handler whose `emit` only appends to a thread-safe queue: `handle` takes no lock,
    which would cost every caller."""

    def handle(self, record: logging.LogRecord) -> bool:
        if not self.filter(record):
            return False
        self.emit(record)
        return True


class JsonFormatter(logging.Formatter):
    """The same JSON document as the log server gets, as one line of text (for stderr)."""

    def __init__(self, component: str, stream: str) -> None:
        super().__init__()
        self._encoder = RecordEncoder(component, stream)

    def format(self, record: logging.LogRecord) -> str:
        return self._encoder.encode(record).decode()[:-1]


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (it may be replaced, as under pytest)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> Any:
        return sys.stderr


class ContextFilter(logging.Filter):
    """Copies context variables (the request id) onto each record, on the caller's thread."""

    def __init__(self, variables: Mapping[str, ContextVar[Any]]) -> None:
        super().__init__()
        self._variables = tuple(variables.items())

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        for name, variable in self._variables:
            if name not in fields:
                fields[name] = variable.get()
        return True
