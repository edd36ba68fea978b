"""LogRecords as JSON documents: the fields every record carries, plus the caller's extra fields;
the handlers and filter every process logs through, whether a log server collects them or not."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=` (or a filter).
_INIT_ATTRS = tuple(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
# "sender" and "seq" are the log shipper's (the client of the log server): extras of those names
# are left out.
STANDARD_ATTRS = frozenset(_INIT_ATTRS) | {
    "message",
    "asctime",
    "taskName",
    "stream",
    "sender",
    "seq",
}
# The log server's line limit (its protocol reads it here); a longer record is shortened.
MAX_LINE_BYTES = 64 * 1024
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
        doc = self._head(
            record.created,
            record.msecs,
            record.levelname,
            record.name,
            record.__dict__.get("stream", self.stream),
            record.process,
            _message(record),
        )
        if record.exc_info:
            if not record.exc_text:  # cached on the record, as logging.Formatter does
                record.exc_text = _formatter.formatException(record.exc_info)
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        _add_extras(doc, _extra_items(record))
        return doc

    def fields_document(
        self, level: int, logger: str, message: str, fields: Mapping[str, Any], created: float
    ) -> dict[str, Any]:
        """The document of a record of `logger` whose extra fields are `fields`, without the
        record: `document` of the LogRecord that `logger.log(level, message, extra=fields)`
        would make at `created` (no exception, no stack, this process)."""
        doc = self._head(
            created,
            (created - int(created)) * 1000,
            logging.getLevelName(level),
            logger,
            fields.get("stream", self.stream),
            os.getpid(),
            message,
        )
        _add_extras(doc, fields.items())
        return doc

    def encode(self, record: logging.LogRecord) -> bytes:
        """One JSON object and a newline."""
        return self.dumps(self.document(record))

    def dumps(self, doc: dict[str, Any]) -> bytes:
        """A document as one JSON line."""
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

    def _head(
        self,
        created: float,
        msecs: float,
        level: str,
        logger: str,
        stream: str,
        pid: int | None,
        message: str,
    ) -> dict[str, Any]:
        """The fields every document has, in their order."""
        return {
            "ts": self._timestamp(created, msecs),
            "level": level,
            "logger": logger,
            "component": self.component,
            "stream": stream,
            "host": self.host,
            "pid": pid,
            "message": message,
        }

    def _timestamp(self, created: float, msecs: float) -> str:
        second = int(created)
        cached, text = self._second
        if second != cached:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(msecs):03d}Z"


def _add_extras(doc: dict[str, Any], items: Iterable[tuple[str, Any]]) -> None:
    """The caller's fields, but for those the document has already or None."""
    for key, value in items:
        if key not in STANDARD_ATTRS and key not in doc and value is not None:
            doc[key] = value


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
        self.add_to(record.__dict__)
        return True

    def add_to(self, fields: dict[str, Any]) -> None:
        """The context variables' values, into the fields that do not have them."""
        for name, variable in self._variables:
            if name not in fields:
                fields[name] = variable.get()
