"""A limit on the size of request bodies, enforced before a body is read whole."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response

CONTENT_LENGTH = b"content-length"
# Methods whose requests carry no body in this API: the benchmark's GETs pass untouched.
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over the limit of {max_bytes} bytes")


class BodyLimitMiddleware:
    """Pure ASGI. A body whose Content-Length is over `max_bytes` gets a 413 before the app
    runs and before a byte of it is read; a body without one (chunked) gets it as soon as the
    bytes received pass the limit: receive() raises BodyTooLarge, which the app's HTTP error
    handler renders."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        declared = _content_length(scope["headers"])
        if declared is not None and declared > max_bytes:
            too_large = BodyTooLarge(max_bytes)
            await error_response(413, too_large.detail)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, receive_within_limit, send)


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == CONTENT_LENGTH:
            return int(value) if value.isdigit() else None
    return None
