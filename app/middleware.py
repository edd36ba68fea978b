"""The access log: one record per HTTP request in the `access` stream, and the request id that
every record logged while serving it carries."""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.context import request_id
from core.logging import direct_handler  # part: logserver

REQUEST_ID_HEADER = b"x-request-id"
USER_AGENT_HEADER = b"user-agent"
# An incoming id is honoured only if it is short and plain, so it cannot forge log lines.
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
ACCESS_MESSAGE = "%s %s %d %.2fms"
# On every response: no MIME sniffing, no framing, no referrer sent on, no cross-origin reads of
# the API's answers by other sites' pages.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class AccessLogMiddleware:
    """Pure ASGI: no task or stream per request (as BaseHTTPMiddleware has). It adds the request
    id and the security headers (SECURITY_HEADERS) to each response. A LogRecord is built from
    a template and handled as any record, but where the log server's handler takes records
    alone (production): there the record's JSON line is encoded straight from its fields.
    Sending happens on the handler's background thread, off the request path."""

    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger("app.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid, agent = _request_headers(scope["headers"])
        header = (REQUEST_ID_HEADER, rid.encode())
        status = 500  # unless the app starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header, *SECURITY_HEADERS]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, rid, agent, status, time.perf_counter() - started)
            request_id.reset(token)

    def _log(
        self, scope: Scope, rid: str, agent: bytes | None, status: int, seconds: float
    ) -> None:
        level = logging.ERROR if status >= 500 else logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        method, path, ms = scope["method"], scope["path"], int(seconds * 1_000_000) / 1000
        client = scope.get("client")
        fields = {
            "stream": "access",
            "request_id": rid,
            "method": method,
            "path": path,
            "route": _route_template(scope),
            "status": status,
            "duration_ms": ms,
            "client": client[0] if client else None,
            "user_agent": agent.decode("latin-1") if agent else None,
        }
        args = (method, path, status, ms)
        # part: logserver
        handler = direct_handler(self.logger)
        if handler is not None:  # production: the line is encoded without a LogRecord
            handler.emit_fields(level, self.logger.name, ACCESS_MESSAGE % args, fields)
            return
        # end part: logserver
        record = _access_record(self.logger.name, level, ACCESS_MESSAGE, args, fields)
        self.logger.handle(record)


_RECORD_TEMPLATE = vars(logging.LogRecord("app.access", logging.INFO, __file__, 0, "", None, None))


def _access_record(
    name: str, level: int, msg: str, args: tuple[object, ...], fields: dict[str, object]
) -> logging.LogRecord:
    """A LogRecord like `logger.makeRecord` makes, at a third of the cost: it copies the fields
    that are the same for every access record (source file, thread name...) from a template
    instead of computing them, and does not look for the caller."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    created = time.time()
    record.__dict__.update(_RECORD_TEMPLATE, **fields)
    record.__dict__.update(
        name=name,
        levelno=level,
        levelname=_LEVEL_NAMES[level],
        msg=msg,
        args=args,
        created=created,
        msecs=(created - int(created)) * 1000,
        relativeCreated=(created - _STARTED) * 1000,
        thread=threading.get_ident(),
        process=os.getpid(),
    )
    return record


_STARTED = time.time()
_LEVEL_NAMES = {logging.INFO: "INFO", logging.ERROR: "ERROR"}


def _route_template(scope: Scope) -> str | None:
    """The matched route's path template, prefixes included (None when no route matched)."""
    # FastAPI keeps the routes of an included router unprefixed (scope["route"].path lacks the
    # prefix) and puts the full template on the effective route context of the request.
    effective = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else None


def _request_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, bytes | None]:
    """The request id (the client's if valid, else a new one) and the user agent."""
    incoming = agent = None
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            incoming = value
        elif name == USER_AGENT_HEADER:
            agent = value
    if incoming is not None and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode(), agent
    # Not os.urandom: it releases the GIL, which a busy log-shipping thread then holds for up to
    # 5 ms. Ids need to be unique, not secret; `random` is reseeded in forked children.
    return f"{random.getrandbits(128):032x}", agent
