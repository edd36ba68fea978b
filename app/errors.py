"""One JSON error shape for every error: {"error": {"status", "code", "message", "details"}}
(app.schemas.error), the handlers that render every error in it, and its OpenAPI entries."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.responses import OrjsonResponse
from app.schemas.error import ErrorResponse

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "content_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error the API reports as is: raise it from services and handlers."""

    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_response(status: int, message: str, details: Any = None) -> OrjsonResponse:
    body = {"status": status, "code": CODES.get(status, "error"), "message": message}
    if details is not None:
        body["details"] = jsonable_encoder(details)
    return OrjsonResponse({"error": body}, status_code=status)


# What each error status means, as the OpenAPI of an operation that can answer it says.
MEANINGS = {
    404: "Not found: nothing has the name or id in the path.",
    409: "Conflict: the change would break a uniqueness rule (e.g. a taken username).",
    413: "Content too large: the request body is over API_MAX_BODY_BYTES (1 MiB by default).",
    415: "Unsupported media type: a request body must be JSON (`application/json`).",
    422: "Invalid request: a parameter or the body breaks the schema; `details` lists each.",
    503: "Service unavailable: a store (Postgres, Redis) or the task queue is down; try again.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of an operation that can answer with these error statuses."""
    return {
        status: {"model": ErrorResponse, "description": MEANINGS[status]} for status in statuses
    }


async def _api_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.details)


def _plain(cause: BaseException) -> str:
    """Why a body could not be parsed, in the client's terms rather than Python's."""
    if isinstance(cause, UnicodeDecodeError):
        return f"it is not UTF-8 (byte {cause.start})"
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return "a number has more than 4300 digits"
    return str(cause)


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI's only 400: a body it could not parse (not UTF-8, say). Malformed JSON is a 422
        # here, and so is this.
        return error_response(422, f"the body could not be read as JSON: {_plain(exc.__cause__)}")
    response = error_response(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method the path takes, asked of the routes themselves: Starlette's 405 names only
    the methods of the first route that matched, and FastAPI has one route per method."""
    return [
        method
        for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": [_text(part) for part in error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in details[:3]
    )
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return error_response(422, f"request is not valid: {problems}{more}", details)


def _text(part: int | str) -> int | str:
    """A location part that JSON can carry: a client's key may hold a lone surrogate."""
    return part.encode("utf-8", "replace").decode() if isinstance(part, str) else part


async def _database_error(request: Request, exc: Exception) -> OrjsonResponse:
    """A database error reaching the handlers: a refused write is a 409 or 422, a lost
    connection a 503, anything else a 500."""
    error = _cause(exc, asyncpg.PostgresError)
    sqlstate = (error.sqlstate if error is not None else None) or ""
    if error is not None and sqlstate[:2] in ("22", "23"):
        return _refused(request, error)
    if sqlstate[:2] in ("08", "53", "57") or _cause(exc, OSError, asyncpg.InterfaceError):
        return await _service_down(request, exc)
    return await _unexpected(request, exc)


def _refused(request: Request, error: asyncpg.PostgresError) -> OrjsonResponse:
    """A write the database refused although the schema let it through. The schema has a gap
    (tests/app/test_write_constraints.py is there to find it first), but the client still gets
    a 409 or 422 saying what, not a 500."""
    log.warning("the database refused a write to %s: %s", request.url.path, error)
    sqlstate = error.sqlstate
    if sqlstate == "23502":
        return error_response(422, f"{error.column_name} cannot be null")
    if sqlstate == "23514":
        return error_response(422, f"a value breaks the rule {error.constraint_name}")
    if sqlstate.startswith("23"):
        detail = error.detail or str(error)
        return error_response(409, f"the change conflicts with the stored data: {detail}")
    return error_response(422, f"a value does not fit its column: {error}")


def _cause(exc: BaseException, *types: type[BaseException]) -> Any:
    """The first exception of `types` in the chain behind `exc` (SQLAlchemy wraps asyncpg's
    errors twice), or None."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, types):
        cause = cause.__cause__
    return cause


async def _service_down(request: Request, exc: Exception) -> OrjsonResponse:
    log.warning("storage unavailable while serving %s: %r", request.url.path, exc)
    return error_response(503, "a storage service is unavailable, try again shortly")


async def _unexpected(request: Request, exc: Exception) -> OrjsonResponse:
    log.exception("unhandled error while serving %s", request.url.path)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    for unavailable in (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ):
        app.add_exception_handler(unavailable, _service_down)
    app.add_exception_handler(Exception, _unexpected)
