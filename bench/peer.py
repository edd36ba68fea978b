"""The peer of `make bench`: the three benchmark endpoints written the way a FastAPI user writes
them by default: response models, dicts returned, dependencies, no custom middleware. The bench
serves it with uvicorn's default settings (`uvicorn bench.peer:app`, access log on) against the
same Postgres, Redis, query and pool sizes as the api.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import aiosql
import asyncpg
from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel
from redis.asyncio import BlockingConnectionPool, Redis

from core.settings import ROOT, get_settings

queries = aiosql.from_path(ROOT / "sql", "asyncpg")


class Greeting(BaseModel):
    message: str


class User(BaseModel):
    id: int
    username: str
    email: str
    age: int | None
    mobile: str | None
    address: str | None
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[User]
    total: int
    page: int
    page_size: int
    pages: int


class Counter(BaseModel):
    counter: int


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.pool = await asyncpg.create_pool(
        settings.postgres_dsn, min_size=0, max_size=settings.postgres_pool_max
    )
    app.state.redis = Redis(
        connection_pool=BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_pool_max
        )
    )
    yield
    await app.state.redis.aclose()
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


@app.get("/api/v1/user/greeting", response_model=Greeting)
async def greeting(name: Annotated[str, Query(max_length=64)] = "World") -> Any:
    return {"message": f"Hello, {name}!"}


@app.get("/api/v1/user/list", response_model=UserPage)
async def list_users(
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Any:
    offset = (page - 1) * page_size
    rows = [row async for row in queries.list_users_page(pool, limit=page_size, offset=offset)]
    total = rows[0]["total"] if rows else 0
    return {
        "items": [dict(row) for row in rows if row["id"] is not None],
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size),
    }


@app.get("/api/v1/user/counter", response_model=Counter)
async def counter(redis: Annotated[Redis, Depends(get_redis)]) -> Any:
    return {"counter": await redis.incr("counter:peer")}
