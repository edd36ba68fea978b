"""One JSON error shape for every error: {"error": {"status", "code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.responses import OrjsonResponse

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
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


async def _api_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.details)


async def _http_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return error_response(422, "request is not valid", details)


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
    for unavailable in (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ):
        app.add_exception_handler(unavailable, _service_down)
    app.add_exception_handler(Exception, _unexpected)
