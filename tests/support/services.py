"""The session's Postgres and Redis as the tests use them: the environment a subprocess needs to
see the same settings, statements run on the admin or a test database, and fresh databases.

The drivers are imported where they are used: every test process imports this module through
the conftest, the fast tier's too, and asyncpg and redis take 0.1 s to import."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    import asyncpg

# Durability does not matter for throwaway test data; speed does.
POSTGRES_TEST_ARGS = (
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
)


def settings_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment a subprocess needs to see the same settings as `load_settings(**...)`."""
    return {**os.environ, **overrides}


def admin_sql(settings: Settings, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def fetch(settings: Settings, query: str, *arguments: object) -> list[asyncpg.Record]:
    """The rows of one statement run on the settings' database (a script of statements, when
    it is no query and has no arguments)."""
    import asyncpg

    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(settings.postgres_dsn)
        try:
            if arguments or query.lstrip().lower().startswith(("select", "explain")):
                return list(await connection.fetch(query, *arguments))
            await connection.execute(query)
            return []
        finally:
            await connection.close()

    return asyncio.run(run())


_database_numbers = itertools.count()

REDIS_DB_FIELDS = (
    "redis_db",
    "celery_broker_db",  # part: background
    "celery_result_db",  # part: background
)
# The Redis databases `own_redis_databases` hands out: every test that needs its own takes them
# here. 0-2 are the session services' defaults (the `settings` fixture's, emptied for each test).
_free_redis_dbs = list(range(3, 16))


def empty_redis(settings: Settings) -> None:
    """Empties the app's, the broker's and the results' Redis databases: a task an earlier test
    queued with no worker running must not be the one the next test's worker takes."""
    import redis

    for db in {getattr(settings, field) for field in REDIS_DB_FIELDS}:
        with redis.Redis.from_url(settings.redis_db_url(db)) as client:
            client.flushdb()


@contextmanager
def own_redis_databases(settings: Settings) -> Iterator[Settings]:
    """`settings` with app, broker and result Redis databases that nothing else uses meanwhile
    (a worker of its own, a task no other worker may take); emptied before and after."""
    if len(_free_redis_dbs) < len(REDIS_DB_FIELDS):
        raise RuntimeError("every Redis database is in use: a test did not give its own back")
    taken = [_free_redis_dbs.pop(0) for _ in REDIS_DB_FIELDS]
    own = settings.model_copy(update=dict(zip(REDIS_DB_FIELDS, taken, strict=True)))
    empty_redis(own)
    try:
        yield own
    finally:
        empty_redis(own)
        _free_redis_dbs.extend(taken)
        _free_redis_dbs.sort()


def redis_env(settings: Settings) -> dict[str, str]:
    """The variables that give a subprocess the Redis databases of `settings`."""
    return {field.upper(): str(getattr(settings, field)) for field in REDIS_DB_FIELDS}


@contextmanager
def fresh_database(services: Settings, template: str) -> Iterator[Settings]:
    """`services` on a new database cloned from `template`, dropped after; Redis emptied."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin_sql(services, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    empty_redis(services)
    try:
        yield services.model_copy(update={"postgres_db": name})
    finally:
        admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')
