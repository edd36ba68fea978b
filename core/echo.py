"""The dev echo: a logging handler that writes each record readably (`core.console`) to the
process's stderr, so a supervisor's pane (process-compose's) shows what the process logs.

`emit` renders the line on the caller's thread (a few microseconds) and queues it; a thread of
the handler's own writes the queue out, at most every `linger_seconds` (one wake-up and one write
for a burst of records), so a reader that falls behind (a full pipe) never holds up the caller,
an event loop say. Past `queue_size` waiting lines, records are not echoed, and a
later line says how many: the echo is a view, not where records are kept.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections import deque
from typing import IO

from core.console import render
from core.records import QueueingHandler, RecordEncoder

WRITER_NAME = "log-echo"


class EchoHandler(QueueingHandler):
    """Echoes records to `sys.stderr` (whatever it is when written) as readable lines."""

    def __init__(
        self,
        component: str,
        stream: str = "app",
        colour: bool = False,
        queue_size: int = 10_000,
        linger_seconds: float = 0.02,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.colour = colour
        self.queue_size = queue_size
        self.linger_seconds = linger_seconds
        self.dropped = 0
        self._encoder = RecordEncoder(component, stream)
        self._queue: deque[str] = deque()
        self._reported_drops = 0
        self._start_writer()
        _live_handlers.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            return
        try:
            line = render(self._encoder.document(record), self.colour)
        except Exception:  # as any logging handler: report, never raise
            self.handleError(record)
            return
        self._queue.append(line + "\n")
        if not self._wanted.is_set():
            self._wanted.set()

    def flush(self, timeout: float = 1.0) -> None:
        """Writes what is queued now (waiting at most `timeout` for a write under way)."""
        self._write_queued(timeout)

    def close(self) -> None:
        self._closing.set()
        self._wanted.set()
        self._writer.join(1.0)
        self._write_queued(1.0)
        _live_handlers.discard(self)
        super().close()

    def _start_writer(self) -> None:
        self._closing = threading.Event()
        self._wanted = threading.Event()
        self._writing = threading.Lock()  # one writer at a time, so lines keep their order
        self._writer = threading.Thread(target=self._run, name=WRITER_NAME, daemon=True)
        self._writer.start()

    def _run(self) -> None:
        while not self._closing.is_set():
            self._wanted.wait()
            # Lines that come meanwhile join this write: one wake-up and one write for many
            # records under load, instead of a thread switch for each. A close ends the wait
            # (the process's exit does not wait out the linger).
            self._closing.wait(self.linger_seconds)
            self._wanted.clear()
            self._write_queued()

    def _write_queued(self, timeout: float = -1) -> None:
        if not self._writing.acquire(timeout=timeout):
            return
        try:
            pop = self._queue.popleft
            lines = [pop() for _ in range(len(self._queue))]
            if self.dropped > self._reported_drops:
                count, self._reported_drops = self.dropped - self._reported_drops, self.dropped
                lines.append(f"(echo: {count} log records not shown, stderr fell behind)\n")
            if lines:
                _write(sys.stderr, "".join(lines))
        finally:
            self._writing.release()

    def _after_fork(self) -> None:
        # The child has no writer thread, and the parent writes out what it had queued.
        self._queue.clear()
        self._start_writer()


def _write(stream: IO[str] | None, text: str) -> None:
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr closed or gone: nobody to show it to


_live_handlers: weakref.WeakSet[EchoHandler] = weakref.WeakSet()


def _before_fork() -> None:
    # What the parent logged before the fork shows before what the child logs after it.
    for handler in list(_live_handlers):
        handler.flush(timeout=0.1)


def _after_fork_in_child() -> None:
    for handler in list(_live_handlers):
        handler._after_fork()


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
