"""The log server: an asyncio TCP server that validates JSON lines and appends them to files.

Each connection reads a chunk (up to 256 KiB), parses it and writes its lines to the page cache
before reading the next, all on the event loop: a slow disk pauses reading, and so the senders,
instead of growing memory; no handoff per chunk, which halved throughput when writes ran on a
thread. Fsyncs (every second, on duplicated descriptors), gzip and retention run on threads. The
protocol is described in `logserver.protocol`.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import signal
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import orjson

from logserver import receiver
from logserver.ledger import Ledger, Snapshot
from logserver.protocol import Counts, LineParser, error_line
from logserver.retention import Retention
from logserver.storage import Storage, StorageConfig, fsync_all, utc_now

log = logging.getLogger("logserver")

CHUNK_BYTES = 256 * 1024
AUTH_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ServerConfig:
    storage: StorageConfig
    host: str = "127.0.0.1"
    port: int = 7779
    token: str | None = None
    checkpoint_seconds: float = 1.0
    shutdown_seconds: float = 10.0
    # Under abuse: a connection silent this long is closed; connections past the cap are
    # refused; past the cap of senders, the least recent one's mark is forgotten.
    idle_seconds: float = 300.0
    max_connections: int = 256
    max_senders: int = 10_000


class ConfigError(SystemExit):
    """The server cannot start as configured: exits with one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: logserver: {message}")


def check_config(config: ServerConfig) -> None:
    """Fails with one line on a config the server must not start with; creates the log folder."""
    if not config.token and not is_loopback(config.host):
        raise ConfigError(
            f"binding {config.host} (beyond loopback) needs a token: set LOGSERVER_TOKEN or pass "
            "--token, or bind 127.0.0.1"
        )
    try:
        config.storage.base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot create the log folder {config.storage.base}: {error.strerror or error}"
        ) from None


def is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


@dataclass(eq=False)
class Peer:
    """A connected sender, as the server sees it (the sending side is logserver.connection)."""

    parser: LineParser
    writer: asyncio.StreamWriter
    counts: Counts = field(default_factory=Counts)
    idle: bool = True


class LogServer:
    def __init__(self, config: ServerConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.counts = Counts()
        self.retention = Retention(config.storage)
        self.storage = Storage(config.storage, self.retention, clock)
        self.ledger = Ledger(config.storage.base, config.storage.retention_days, config.max_senders)
        self.refused_connections = self.idle_closed = 0
        self._connections: dict[asyncio.Task[None], Peer] = {}
        self._owners: dict[str, LineParser] = {}
        self._streams: set[str] = set()
        self._stopping = False

    async def serve(self, stop: asyncio.Event, listening: Callable[[], object] = bool) -> None:
        """Serves until `stop` is set, then stops accepting, drains, flushes and fsyncs;
        `listening` is called once it listens."""
        try:
            await asyncio.to_thread(self.ledger.load)
            server = await self._listen()
            listening()
            async with server:
                checkpoints = asyncio.create_task(self._checkpoints(stop))
                await stop.wait()
                server.close()
                await self._close_connections()
                await checkpoints
            await self._checkpoint()
            self.storage.close()
        finally:
            self.retention.close()
        log.info(
            "stopped: %s",
            {
                **self.counts.as_dict(),
                "refused_connections": self.refused_connections,
                "idle_closed": self.idle_closed,
                "senders_forgotten": self.ledger.forgotten,
            },
        )

    async def _listen(self) -> asyncio.Server:
        host, port = self.config.host, self.config.port
        try:
            server = await asyncio.start_server(self.handle_client, host, port, limit=CHUNK_BYTES)
        except OSError as error:
            raise ConfigError(f"cannot bind {host}:{port} ({error.strerror or error})") from None
        log.info("listening on %s:%d, writing to %s", host, port, self.config.storage.base)
        return server

    async def handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = _peer(writer.get_extra_info("peername"))
        if len(self._connections) >= self.config.max_connections:
            await self._refuse(writer, peer)
            return
        parser = LineParser(peer, self.ledger.marks, self._streams, self.clock, self._owners)
        conn = self._connections[_current_task()] = Peer(parser, writer)
        try:
            first = await self._first_chunk(reader)
            if receiver.speaks_http(first):
                await receiver.serve(first, reader, writer, self.config.token, self._storer(conn))
            elif self.config.token is None:
                await self._receive(reader, conn, first)
            elif (rest := await self._authenticate(reader, writer, peer, first)) is not None:
                await self._receive(reader, conn, rest)
        except ConnectionError:
            pass
        except TimeoutError:
            self.idle_closed += 1
            log.info("closed %s: idle for %.0f s", peer, self.config.idle_seconds)
        finally:
            del self._connections[_current_task()]
            parser.release()
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    async def _refuse(self, writer: asyncio.StreamWriter, peer: str) -> None:
        """Past the connection cap: one error line, then closed (the others keep being served)."""
        self.refused_connections += 1
        if self.refused_connections == 1 or self.refused_connections % 1000 == 0:
            log.warning(
                "refused %s: %d connections already (%d refused so far)",
                peer,
                self.config.max_connections,
                self.refused_connections,
            )
        writer.write(error_line(f"too many connections (at most {self.config.max_connections})"))
        with suppress(ConnectionError):
            await writer.drain()
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()

    async def _first_chunk(self, reader: asyncio.StreamReader) -> bytes:
        """What the client sends first: HTTP (OTLP, logserver.receiver) or JSON lines. With a
        token, it must come within the time the token has to."""
        if self.config.token is None:
            return await asyncio.wait_for(reader.read(CHUNK_BYTES), self.config.idle_seconds)
        try:
            return await asyncio.wait_for(reader.read(CHUNK_BYTES), AUTH_TIMEOUT_SECONDS)
        except TimeoutError:
            return b""  # refused as a wrong token

    def _storer(self, conn: Peer) -> receiver.Store:
        async def store(records: list[dict[str, object]]) -> None:
            await self._ingest(conn, b"".join(orjson.dumps(doc) + b"\n" for doc in records))

        return store

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str, first: bytes
    ) -> bytes | None:
        """What came after a valid token line, or None (the client was refused)."""
        assert self.config.token is not None
        line, newline, rest = first.partition(b"\n")
        try:
            if first and not newline:
                line += await asyncio.wait_for(reader.readline(), AUTH_TIMEOUT_SECONDS)
            doc = orjson.loads(line)
            token = doc.get("auth") if isinstance(doc, dict) else None
        except (TimeoutError, ValueError):
            token = None
        expected = self.config.token.encode()
        if isinstance(token, str) and hmac.compare_digest(token.encode(), expected):
            return rest
        log.warning("refused %s: no valid token on the first line", peer)
        writer.write(error_line('token required: send {"auth": "<token>"} first'))
        await writer.drain()
        return None

    async def _receive(self, reader: asyncio.StreamReader, conn: Peer, first: bytes) -> None:
        if first:
            conn.idle = False
            await self._ingest(conn, first)
        elif reader.at_eof():
            return
        while not self._stopping:
            conn.idle = True
            data = await asyncio.wait_for(reader.read(CHUNK_BYTES), self.config.idle_seconds)
            conn.idle = False
            if not data:
                return
            await self._ingest(conn, data)

    async def _ingest(self, conn: Peer, data: bytes) -> None:
        batch = conn.parser.feed(data)
        if batch.streams:
            try:
                self.storage.write(batch.streams)
            except OSError as error:
                log.error("cannot write: %s; closing the connection unacknowledged", error)
                raise ConnectionAbortedError from error
            self.ledger.commit(batch.marks)
        conn.counts.add(batch)
        self.counts.add(batch)
        if batch.syncs:
            counts = conn.counts.as_dict()
            for sync_id in batch.syncs:
                conn.writer.write(orjson.dumps({"synced": sync_id, **counts}) + b"\n")
            await conn.writer.drain()

    async def _checkpoints(self, stop: asyncio.Event) -> None:
        """Every second, until stopped (it is not cancelled: a fsync thread cannot be)."""
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.checkpoint_seconds)
            try:
                await self._checkpoint()
            except OSError as error:
                log.error("checkpoint failed: %s", error)

    async def _checkpoint(self) -> None:
        """Fsyncs what was written and saves the ledger, both on a thread."""
        written = self.storage.checkpoint()
        if written is not None:
            fds, sizes = written
            await asyncio.to_thread(self._persist, fds, sizes, self.ledger.snapshot())

    def _persist(self, fds: list[int], sizes: dict[str, int], snapshot: Snapshot) -> None:
        fsync_all(fds)
        self.ledger.save(snapshot, sizes)

    async def _close_connections(self) -> None:
        """Reading stops at the next chunk; chunks read are stored and answered before closing."""
        self._stopping = True
        for task, conn in self._connections.items():
            cast(asyncio.Transport, conn.writer.transport).pause_reading()
            if conn.idle:
                task.cancel()
        if self._connections:
            _, late = await asyncio.wait(self._connections, timeout=self.config.shutdown_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)


def _current_task() -> asyncio.Task[None]:
    task = asyncio.current_task()
    assert task is not None
    return task


def _peer(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address)


def run(config: ServerConfig, listening: Callable[[], object] = bool) -> None:
    """Runs the server in the foreground until SIGTERM or SIGINT (uvloop when available);
    `listening` is called once it listens."""
    check_config(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await LogServer(config).serve(stop, listening)

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
