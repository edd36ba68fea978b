"""What the worker computes about users: one user's report, and the stats that beat records."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg
import redis
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.queries import load_queries
from app.models import User
from app.services import users
from core.settings import Settings

CONNECT_TIMEOUT_SECONDS = 10
PROFILE_FIELDS = ("age", "mobile", "address")
STATS_KEY = "stats:users"


class UserNotFound(LookupError):
    """The user was deleted, or never was: retrying will not help."""


def build_report(settings: Settings, user_id: int) -> dict[str, Any]:
    """How complete and how old the account of `user_id` is."""
    user = asyncio.run(_get_user(settings, user_id))
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    now = datetime.now(UTC)
    return {
        "user_id": user.id,
        "username": user.username,
        "profile_fields_filled": sum(getattr(user, name) is not None for name in PROFILE_FIELDS),
        "profile_fields_total": len(PROFILE_FIELDS),
        "account_age_days": (now - user.created_at).days,
        "built_at": now.isoformat(),
    }


def record_stats(settings: Settings) -> dict[str, Any]:
    """Counts the users and keeps the figures in the `stats:users` hash of the app's Redis."""
    stats = {
        "users": asyncio.run(_count_users(settings)),
        "recorded_at": datetime.now(UTC).isoformat(),
    }
    with redis.Redis.from_url(settings.redis_url, socket_timeout=CONNECT_TIMEOUT_SECONDS) as client:
        client.hset(STATS_KEY, mapping=stats)
    return stats


# Each task is one short asyncio.run: it opens a connection of its own, as no pool outlives a loop.


async def _get_user(settings: Settings, user_id: int) -> User | None:
    engine = create_async_engine(
        settings.sqlalchemy_url,
        poolclass=NullPool,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        async with AsyncSession(engine) as session:
            return await users.get(session=session, user_id=user_id)
    finally:
        await engine.dispose()


async def _count_users(settings: Settings) -> int:
    connection = await asyncpg.connect(settings.postgres_dsn, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        return int(await _queries().count_users(connection))
    finally:
        await connection.close()


@lru_cache(maxsize=1)
def _queries() -> Any:
    return load_queries()
