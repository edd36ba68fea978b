"""Dependencies routes ask for, as `Annotated` aliases; they reach the lifespan's clients.

They are `async def` although they await nothing: FastAPI runs a plain `def` dependency in a
thread pool, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from celery import Celery  # part: background
from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ApiError
from app.resources import Resources
from app.services.counter import CoalescedCounter
from core.settings import Settings


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.resources.pool
    return pool


async def get_queries(request: Request) -> Any:
    return request.app.state.resources.queries


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.resources.redis
    return redis


async def get_counter(request: Request) -> CoalescedCounter:
    counter: CoalescedCounter = request.app.state.resources.counter
    return counter


# part: background
async def get_celery(resources: ResourcesDep) -> Celery:
    return resources.celery
    # end part: background


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async with resources.sessions() as session:
        yield session


CeleryDep = Annotated[Celery, Depends(get_celery)]  # part: background
CounterDep = Annotated[CoalescedCounter, Depends(get_counter)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
QueriesDep = Annotated[Any, Depends(get_queries)]
RedisDep = Annotated[Redis, Depends(get_redis)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def require_json(request: Request) -> None:
    """A body that is not declared JSON is a 415 (FastAPI would read it as bytes, then fail the
    body's validation with a message about dictionaries). No body at all is left to validation."""
    content_type = request.headers.get("content-type", "")
    if await request.body() and not is_json(content_type):
        raise ApiError(415, f"the body must be application/json, not {content_type!r}")


def is_json(content_type: str) -> bool:
    """application/json or application/*+json, with or without parameters."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def refuse_body(request: Request) -> None:
    """An operation that takes no body: a body other than `{}` (an empty set of arguments, which
    generated clients send) is a 422, not silently dropped."""
    if await request.body() not in (b"", b"{}"):
        raise ApiError(422, "this operation takes no request body (send none, or {})")


JsonBody = Depends(require_json)
NoBody = Depends(refuse_body)
