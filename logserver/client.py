"""The logging handler every process ships its records through, and a ping of the log server.

`LogServerHandler.emit` encodes the record as a JSON line (orjson: a few microseconds) and
appends it to a bounded queue; a background thread sends the queue in batches, and does nothing
else, so it holds the GIL only briefly. Encoding on that thread instead was measured to cost more
in all: 13-16 us per record there against 2-3 us, as it competes with the caller (an event loop)
for the GIL, and stalls it for milliseconds at a time. A full queue drops records and counts them
(a later record says how many): logging never blocks the caller.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from collections import deque
from typing import Any

import orjson

from core.records import ContextFilter, QueueingHandler, RecordEncoder
from logserver.connection import Refused
from logserver.protocol import auth_line, sync_line
from logserver.shipper import ClientConfig, Shipper

__all__ = ["ClientConfig", "LogServerHandler", "ping"]


class LogServerHandler(QueueingHandler):
    """Ships records to the log server; see the module docstring and `logserver.shipper`."""

    def __init__(self, config: ClientConfig, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.config = config
        self._encoder = RecordEncoder(config.component, config.stream)
        self._queue: deque[bytes] = deque()
        # The lock first: if the shipper cannot start (its spill file), logging's shutdown still
        # finds a whole handler to flush, and says why rather than tripping on a missing lock.
        self._starting = threading.Lock()
        self._shipper: Shipper | None = None
        self._shipper = Shipper(config, self._queue)
        _live_handlers.add(self)

    @property
    def sender(self) -> str:
        return self._started().sender

    @property
    def dropped(self) -> int:
        return self._shipper.dropped if self._shipper else 0

    def emit(self, record: logging.LogRecord) -> None:
        if self._full():
            return
        try:
            line = self._encoder.encode(record)
        except Exception:  # as any logging handler: report, never raise
            self.handleError(record)
            return
        self._enqueue(line)

    def emit_fields(self, level: int, logger: str, message: str, fields: dict[str, Any]) -> None:
        """Ships the record that `logging.getLogger(logger).log(level, message, extra=fields)`
        would bring here, the same JSON line, without making the LogRecord: for a caller that
        logs on every request (app.middleware), and only where `direct_handler` says this is
        the one handler such a record would reach. The handler's filters are ContextFilters
        (direct_handler checks), applied to `fields`."""
        if level < self.level or self._full():
            return
        for context in self.filters:
            assert isinstance(context, ContextFilter)
            context.add_to(fields)
        try:
            doc = self._encoder.fields_document(level, logger, message, fields, time.time())
            line = self._encoder.dumps(doc)
        except Exception:
            self.handleError(logging.makeLogRecord({"name": logger, "msg": message, **fields}))
            return
        self._enqueue(line)

    def _full(self) -> bool:
        """Whether the queue is full: the record is dropped, and counted."""
        if len(self._queue) < self.config.queue_size:
            return False
        (self._shipper or self._started()).dropped += 1
        return True

    def _enqueue(self, line: bytes) -> None:
        shipper = self._shipper or self._started()
        self._queue.append(line)
        if shipper.asleep and len(self._queue) >= shipper.wake_at:
            shipper.wake()

    def flush(self) -> None:
        self.wait_flushed(self.config.close_timeout)

    def wait_flushed(self, timeout: float) -> bool:
        """Waits until earlier records are acknowledged, or spilled while the server is
        unreachable; False if that did not happen in time."""
        return self._started().flush(timeout)

    def wait_delivered(self, timeout: float) -> bool:
        """Waits until earlier records, the spill file's included, are acknowledged."""
        return self._started().flush(timeout, delivered=True)

    def close(self) -> None:
        if self._shipper is not None:
            self._shipper.close(self.config.close_timeout)
        _live_handlers.discard(self)
        super().close()

    def _started(self) -> Shipper:
        with self._starting:
            if self._shipper is None:
                self._shipper = Shipper(self.config, self._queue)
            return self._shipper

    def _after_fork(self) -> None:
        # The child has no shipping thread and must not share the parent's sender id or spill
        # file; it gets its own at its first record (a child that execs never needs one).
        if self._shipper is not None:
            self._shipper.abandon()
        self._queue.clear()
        self._shipper = None
        self._starting = threading.Lock()  # another thread may have held it at the fork


_live_handlers: weakref.WeakSet[LogServerHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_live_handlers):
        handler._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def ping(host: str, port: int, token: str | None = None, timeout: float = 2.0) -> dict[str, Any]:
    """Round trip to the log server (auth if a token is given, then a sync): the one ping, which
    the readiness probe and the supervisors wrap. Raises Refused when the server answers with an
    error (a missing or wrong token), another OSError when it does not answer."""
    with socket.create_connection((host, port), timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall((auth_line(token) if token else b"") + sync_line("ping"))
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("the log server closed the connection")
            reply += chunk
    doc = orjson.loads(reply)
    if isinstance(doc, dict) and "error" in doc:
        raise Refused(str(doc["error"]))
    if not isinstance(doc, dict) or doc.get("synced") != "ping":
        raise ConnectionError(f"not a log server's answer: {doc!r}")
    return doc
