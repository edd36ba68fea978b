"""OTLP over HTTP on the log server's own port: a connection whose first byte is an uppercase
letter (`POST ...`) speaks HTTP/1.1; one that starts with `{` speaks the JSON-lines protocol.

One port, so the stack's port, its readiness probe, PORT_OFFSET, compose's and Kubernetes'
service all cover both, and an SDK in any language sends to `http://<logserver>:7779` with
OTEL_EXPORTER_OTLP_ENDPOINT. `POST /v1/traces` and `POST /v1/logs` take protobuf or JSON,
gzip or not; the answer is 200 once the records are written (as the TCP protocol's `synced`),
so an exporter that gets no answer (the server restarting) retries, and nothing is lost. With a
token, requests carry `Authorization: Bearer <token>` (OTEL_EXPORTER_OTLP_HEADERS).
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import zlib
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from logserver import otlp

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
IDLE_SECONDS = 120.0

# Stores the records (as JSON lines through the connection's parser) and returns once written.
Store = Callable[[list[dict[str, object]]], Awaitable[None]]


def speaks_http(first: bytes) -> bool:
    """Whether a connection's first bytes start an HTTP request (`POST /v1/traces HTTP/1.1`)."""
    return first[:1].isupper()


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Prefixed:
    """A StreamReader with bytes already read put back in front."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader) -> None:
        self.buffer = bytearray(first)
        self.reader = reader

    async def until(self, separator: bytes, limit: int) -> bytes:
        while (end := self.buffer.find(separator)) < 0:
            if len(self.buffer) > limit:
                raise HttpError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers too long")
            if not await self._more():
                raise ConnectionResetError
        return self._take(end + len(separator))

    async def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not await self._more():
                raise ConnectionResetError
        return self._take(size)

    async def _more(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(256 * 1024), IDLE_SECONDS)
        self.buffer += data
        return bool(data)

    def _take(self, size: int) -> bytes:
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    @property
    def empty(self) -> bool:
        return not self.buffer


async def serve(
    first: bytes,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    token: str | None,
    store: Store,
) -> None:
    """Answers the connection's requests (keep-alive) until the client closes it."""
    stream = Prefixed(first, reader)
    while True:
        if stream.empty and reader.at_eof():
            return
        try:
            head = await stream.until(b"\r\n\r\n", MAX_HEAD_BYTES)
        except (ConnectionResetError, TimeoutError):
            return
        except HttpError as error:
            await _answer(writer, error.status, str(error).encode(), "text/plain", close=True)
            return
        body = None
        try:
            method, path, headers = _parse_head(head)
            body = await _body(stream, headers)
            content_type = headers.get("content-type", "")
            await _handle(method, path, headers, body, token, store)
        except HttpError as error:
            # Keep the connection only when the request was read whole.
            close = body is None
            await _answer(writer, error.status, str(error).encode(), "text/plain", close=close)
            if close:
                return
            continue
        close = headers.get("connection", "").lower() == "close"
        response = otlp.empty_response(content_type)
        await _answer(writer, HTTPStatus.OK, response, content_type or "text/plain", close=close)
        if close:
            return


async def _handle(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    token: str | None,
    store: Store,
) -> None:
    signal = otlp.PATHS.get(path.split("?")[0])
    if signal is None:
        raise HttpError(HTTPStatus.NOT_FOUND, "POST OTLP to /v1/traces or /v1/logs")
    if method != "POST":
        raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "POST only")
    if token is not None and not _authorized(headers.get("authorization", ""), token):
        raise HttpError(HTTPStatus.UNAUTHORIZED, "token required: Authorization: Bearer <token>")
    try:
        records = otlp.records(signal, headers.get("content-type", ""), _decompress(headers, body))
    except (otlp.BadRequest, AttributeError, TypeError, ValueError) as error:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"bad OTLP request: {error}") from None
    await store(records)


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(HTTPStatus.BAD_REQUEST, "not an HTTP/1.1 request line")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


async def _body(stream: Prefixed, headers: dict[str, str]) -> bytes:
    if "transfer-encoding" in headers:
        raise HttpError(HTTPStatus.LENGTH_REQUIRED, "send Content-Length, not chunks")
    try:
        size = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
    if size > MAX_BODY_BYTES or size < 0:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"over {MAX_BODY_BYTES} bytes")
    return await stream.exactly(size)


def _decompress(headers: dict[str, str], body: bytes) -> bytes:
    encoding = headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise otlp.BadRequest(f"bad gzip body: {error}") from None
    if encoding != "identity":
        raise otlp.BadRequest(f"content encoding {encoding!r}: send gzip or none")
    return body


async def _answer(
    writer: asyncio.StreamWriter, status: HTTPStatus, body: bytes, content_type: str, close: bool
) -> None:
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()
