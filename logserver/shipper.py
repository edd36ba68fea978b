"""The handler's background thread: sends the queued JSON lines in acknowledged batches,
reconnects with backoff, and keeps them in a spill file while the server is unreachable.

Each line gets the handler's `sender` id and the next `seq` here; each batch ends with a
`{"sync": n}` line and stays in memory (at most `window` batches) until the server answers
`{"synced": n}`. When the connection is lost, unacknowledged batches go to the spill file, and so
does everything after them until the spill is replayed, in order, on the next connection. The
server drops any record whose seq it stored already, so a resent batch is stored once.
"""

from __future__ import annotations

import logging
import math
import os
import select
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.records import RecordEncoder
from logserver.connection import Connection, Refused
from logserver.protocol import sync_line
from logserver.spill import SpillFile


@dataclass(frozen=True)
class ClientConfig:
    """Where a LogServerHandler sends, and its bounds."""

    host: str
    port: int
    component: str
    spill_dir: Path
    stream: str = "app"
    token: str | None = None
    queue_size: int = 10_000
    batch_size: int = 1_000
    linger_seconds: float = 0.1  # how long a batch waits to fill up before it is sent
    window: int = 4
    max_spill_bytes: int = 256 * 1024 * 1024
    connect_timeout: float = 1.0
    reply_timeout: float = 10.0
    backoff_initial: float = 0.05
    backoff_max: float = 2.0
    close_timeout: float = 5.0


@dataclass
class Sent:
    data: bytes
    spill_end: int | None = None  # where a replayed batch ends in the spill file
    batch_id: int = 0


class Shipper:
    """Everything after the handler's queue. All methods but wake/flush/close run on its thread."""

    def __init__(self, config: ClientConfig, queue: deque[bytes]) -> None:
        self.config = config
        self.queue = queue
        self.sender = uuid.uuid4().hex
        self.dropped = 0
        self.asleep = False
        self.wake_at = 1  # queue length at which a sleeping shipper wants a wake-up
        self._linger_until: float | None = None
        self._encoder = RecordEncoder(config.component, config.stream)
        self._seq = self._batch_id = self._reported_drops = 0
        self._connection: Connection | None = None
        self._inflight: deque[Sent] = deque()
        self._ack_deadline = math.inf
        self._spill = SpillFile.claim(config.spill_dir, config.component, config.max_spill_bytes)
        self._retry_at = 0.0
        self._backoff = config.backoff_initial
        self._outage = False
        self._quiet_reconnect = True  # one, until the server acknowledges again (_disconnect)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._poll = select.poll()
        self._poll.register(self._wake_read, select.POLLIN)
        self._done = threading.Condition()
        self._asked = self._drained_upto = self._delivered_upto = 0
        self._closing = False
        self._deadline = math.inf
        self._thread = threading.Thread(target=self._run, name="logserver-shipper", daemon=True)
        self._thread.start()

    # --- called from other threads

    def wake(self) -> None:
        try:
            os.write(self._wake_write, b"\0")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or closed (shut down)

    def flush(self, timeout: float, delivered: bool = False) -> bool:
        """Waits until what was queued before the call is acknowledged, or in the spill file while
        the server is unreachable (`delivered`: acknowledged, spill file included)."""
        with self._done:
            self._asked += 1
            asked = self._asked
        self.wake()

        def done() -> bool:
            return (self._delivered_upto if delivered else self._drained_upto) >= asked

        with self._done:
            self._done.wait_for(lambda: done() or not self._thread.is_alive(), timeout)
            return done()

    def close(self, timeout: float) -> None:
        """Sends what it can within `timeout`, spills the rest, and stops the thread."""
        self._deadline = time.monotonic() + timeout
        self._closing = True
        self.wake()
        self._thread.join(timeout + 1.0)

    def abandon(self) -> None:
        """In a forked child: release the parent's file descriptors, without touching the parent."""
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)
        if self._connection is not None:
            self._connection.close()
        self._spill.close()

    # --- the thread

    def _run(self) -> None:
        try:
            while not (self._closing and (self._drained() or time.monotonic() >= self._deadline)):
                self._sleep()
                asked = self._asked  # records queued before this flush request are queued now
                self._cycle()
                self._report(asked)
        except Exception as error:  # the thread must tell, not die silently
            self._warn(f"shipping stopped: {type(error).__name__}: {error}")
        finally:
            self._shutdown()
            self._report(self._asked)

    def _sleep(self) -> None:
        timeout = self._sleep_seconds()
        if self._closing:
            timeout = min(timeout, max(0.0, self._deadline - time.monotonic()))
        if timeout > 0:
            # Emitters wake us for the first record, or for a full batch while one fills up.
            self.wake_at = self.config.batch_size if self.queue else 1
            self.asleep = True
            ready = (
                []
                if len(self.queue) >= self.wake_at
                else self._poll.poll(None if timeout == math.inf else timeout * 1000)
            )
            self.asleep = False
            if any(fd == self._wake_read for fd, _ in ready):
                while len(os.read(self._wake_read, 4096)) == 4096:
                    pass

    def _sleep_seconds(self) -> float:
        now = time.monotonic()
        if self._connection is not None:
            if self._spill.unsent and len(self._inflight) < self.config.window:
                return 0.0
            wait = max(0.0, self._ack_deadline - now) if self._inflight else math.inf
        else:
            wait = max(0.0, self._retry_at - now) if self._spill.pending else math.inf
        if self.queue:
            if self._linger_until is None:
                self._linger_until = now + self.config.linger_seconds
            wait = 0.0 if self._queue_due(now) else min(wait, self._linger_until - now)
        return wait

    def _queue_due(self, now: float) -> bool:
        """Whether to send what is queued now, rather than let the batch fill up."""
        return (
            len(self.queue) >= self.config.batch_size
            or self._closing
            or self._asked > self._drained_upto  # someone waits in flush()
            or (self._linger_until is not None and now >= self._linger_until)
        )

    def _cycle(self) -> None:
        if self.dropped > self._reported_drops:
            self._report_drops()
        if self.queue and self._queue_due(time.monotonic()):
            self._linger_until = None
            self._ship(self._take(self.config.batch_size))
        if self._connection is None and self._spill.pending and self._retry_due():
            self._connect()
        if self._connection is not None:
            self._pump()

    def _take(self, count: int) -> bytes:
        """Up to `count` queued lines, each tagged with the sender and its seq."""
        tag, pop, seq = f',"sender":"{self.sender}","seq":'.encode(), self.queue.popleft, self._seq
        lines = []
        for _ in range(min(count, len(self.queue))):
            seq += 1
            lines.append(b"%s%s%d}\n" % (pop()[:-2], tag, seq))  # each line ends with "}\n"
        self._seq = seq
        return b"".join(lines)

    def _ship(self, data: bytes) -> None:
        if self._connection is None and not self._spill.pending and self._retry_due():
            self._connect()
        if self._connection is None or self._spill.pending:
            self._to_spill(data)
        else:
            self._send(Sent(data))

    def _pump(self) -> None:
        self._collect(wait=False)  # replies, or the server closing a connection left idle
        while (
            self._connection is not None
            and self._spill.unsent
            and (len(self._inflight) < self.config.window)
        ):
            data, end = self._spill.read()
            self._send(Sent(data, spill_end=end))
        if (
            self._connection is not None
            and self._inflight
            and (time.monotonic() > self._ack_deadline)
        ):
            self._disconnect(TimeoutError("no acknowledgement from the log server"))

    def _send(self, sent: Sent) -> None:
        assert self._connection is not None
        self._batch_id += 1
        sent.batch_id = self._batch_id
        if not self._inflight:
            self._ack_deadline = time.monotonic() + self.config.reply_timeout
        try:
            self._connection.send(sent.data + sync_line(sent.batch_id))
        except OSError as error:
            self._disconnect(error, unsent=sent)
            return
        self._inflight.append(sent)
        if len(self._inflight) >= self.config.window:
            self._collect(wait=True)

    def _collect(self, wait: bool) -> None:
        assert self._connection is not None
        try:
            for reply in self._connection.replies(wait):
                self._on_reply(reply)
        except (OSError, ValueError) as error:
            self._disconnect(error)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        if "error" in reply:
            raise Refused(f"refused by the log server: {reply['error']}")
        upto = reply.get("synced")
        if not isinstance(upto, int):
            return
        while self._inflight and self._inflight[0].batch_id <= upto:
            sent = self._inflight.popleft()
            if sent.spill_end is not None:
                self._spill.acked = sent.spill_end
        self._quiet_reconnect = True
        self._ack_deadline = time.monotonic() + self.config.reply_timeout
        spill = self._spill
        if spill.pending and spill.acked == spill.size:
            spill.clear()

    def _connect(self) -> None:
        try:
            config = self.config
            self._connection = Connection.open(
                config.host, config.port, config.token, config.connect_timeout, config.reply_timeout
            )
        except OSError as error:
            self._retry_later(error)
            return
        self._poll.register(self._connection.fileno(), select.POLLIN)
        self._backoff = self.config.backoff_initial
        if self._outage:
            self._outage = False
            self._warn(f"reconnected; replaying {self._spill.size} bytes from {self._spill.path}")

    def _disconnect(self, error: Exception, unsent: Sent | None = None) -> None:
        assert self._connection is not None
        self._poll.unregister(self._connection.fileno())
        self._connection.close()
        self._connection = None
        if not self._inflight and unsent is None and not isinstance(error, Refused):
            return  # closed while idle (the server's idle timeout): reconnect when needed
        for sent in [*self._inflight, *([unsent] if unsent else [])]:
            if sent.spill_end is None:
                self._to_spill(sent.data)
        self._inflight.clear()
        self._spill.rewind()
        if isinstance(error, ConnectionResetError | BrokenPipeError) and self._quiet_reconnect:
            # The server closed the connection as a batch went out: most often its idle timeout
            # crossing our next send. One reconnect at once replays the batch (the server drops
            # what it already has by seq); only a reconnect that fails is an outage.
            self._quiet_reconnect = False
            self._connect()
            return
        self._retry_later(error)

    def _retry_later(self, error: Exception) -> None:
        backoff = self.config.backoff_max if isinstance(error, Refused) else self._backoff
        self._retry_at = time.monotonic() + backoff
        self._backoff = min(self._backoff * 2, self.config.backoff_max)
        if not self._outage:
            self._outage = True
            address = f"{self.config.host}:{self.config.port}"
            self._warn(
                f"log server {address} unreachable ({error}); keeping records in "
                f"{self._spill.path} until it is back"
            )

    def _retry_due(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _to_spill(self, data: bytes) -> None:
        if not self._spill.append(data):
            self.dropped += data.count(b"\n")

    def _report_drops(self) -> None:
        count, self._reported_drops = self.dropped - self._reported_drops, self.dropped
        record = logging.LogRecord(
            "logserver.client",
            logging.WARNING,
            __file__,
            0,
            "dropped %d log records (queue or spill file full)",
            (count,),
            None,
        )
        self.queue.appendleft(self._encoder.encode(record))

    def _drained(self) -> bool:
        return (
            not self.queue
            and not self._inflight
            and (self._connection is None or not self._spill.pending)
        )

    def _report(self, asked: int) -> None:
        drained = self._drained()
        delivered = drained and not self._spill.pending
        if drained:
            with self._done:
                self._drained_upto = asked
                if delivered:
                    self._delivered_upto = asked
                self._done.notify_all()

    def _shutdown(self) -> None:
        unsent = [sent.data for sent in self._inflight if sent.spill_end is None]
        self._inflight.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        for data in unsent:
            self._to_spill(data)
        while self.queue:
            self._to_spill(self._take(self.config.batch_size))
        self._spill.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _warn(self, message: str) -> None:
        stream = sys.stderr
        if stream is not None:
            stream.write(f"logserver client ({self.config.component}): {message}\n")
