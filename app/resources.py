"""The clients the app shares between requests, opened in the lifespan and closed after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from anyio import to_thread
from celery import Celery  # part: background
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.queries import load_queries
from app.services.counter import COUNTER_KEY, CoalescedCounter
from core.celery_client import create_client  # part: background
from core.settings import Settings

REDIS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Resources:
    pool: asyncpg.Pool
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    counter: CoalescedCounter  # the benchmark's counter, on `redis`
    queries: Any
    # part: background
    celery: Celery  # publishes tasks by name (core.tasks) and reads their results
    # end part: background


async def keep_session(connection: asyncpg.Connection) -> None:
    """The asyncpg pool's reset between two uses: nothing to undo. The pool runs only the raw
    path's read queries (sql/) and /ready's `select 1`, which take no advisory lock, open no
    cursor past their call, LISTEN to nothing and SET nothing, so asyncpg's default reset query
    (one more round trip and a Postgres statement per request) has nothing to clear; the pool
    still rolls back a transaction left open. Code that changes session state on this pool must
    put the default back (`reset=None`)."""


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Pools connect lazily: the app starts, and /ready names what is down."""
    pool = await asyncpg.create_pool(
        settings.postgres_dsn,
        min_size=0,
        max_size=settings.postgres_pool_max,
        reset=keep_session,
    )
    engine = create_async_engine(
        settings.sqlalchemy_url, pool_size=settings.postgres_pool_max, pool_pre_ping=False
    )
    # Blocking: under load a request waits for a free connection instead of failing.
    redis = Redis.from_pool(
        BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_max,
            timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    )
    celery = create_client(settings)  # part: background
    try:
        yield Resources(
            pool=pool,
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            redis=redis,
            counter=CoalescedCounter(redis, COUNTER_KEY),
            queries=load_queries(),
            celery=celery,  # part: background
        )
    finally:
        await to_thread.run_sync(celery.close)  # part: background
        await redis.aclose()
        await engine.dispose()
        await pool.close()
