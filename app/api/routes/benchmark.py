"""The three classic benchmark endpoints: no I/O, raw SQL through aiosql, and a Redis counter."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.api.deps import CounterDep, PoolDep, QueriesDep
from app.api.params import QueryParameter, documented
from app.errors import error_responses
from app.responses import OrjsonResponse
from app.schemas.user import Counter, Greeting, UserPage
from app.services import users

router = APIRouter(prefix="/user", tags=["user"])

# Handlers below return responses they built themselves: the data already has the documented shape,
# so FastAPI's second validation pass through the response model is skipped on these hot paths.


# The greeting's one parameter is read by the handler (app.api.params): FastAPI's solver costs it
# 8% of its throughput, measured.
NAME = QueryParameter("name", Annotated[str, Query(max_length=64)], default="World")


@router.get(
    "/greeting",
    response_model=Greeting,
    responses=error_responses(422),
    openapi_extra=documented(NAME),
)
async def greeting(request: Request) -> Response:
    name = NAME.read(request)
    message = f"Hello, {name}!"
    return Response(orjson.dumps({"message": message}), media_type="application/json")


@router.get("/list", response_model=UserPage, responses=error_responses(422, 503))
async def list_users(
    pool: PoolDep,
    queries: QueriesDep,
    page: Annotated[int, Query(ge=1, le=1_000_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    result = await users.list_page(pool=pool, queries=queries, page=page, page_size=page_size)
    return OrjsonResponse(result)


@router.get("/counter", response_model=Counter, responses=error_responses(503))
async def counter(counter: CounterDep) -> Response:
    value = await counter.incr()
    return Response(orjson.dumps({"counter": value}), media_type="application/json")
