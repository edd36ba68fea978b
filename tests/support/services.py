"""The session's Postgres and Redis as the tests use them: the environment a subprocess needs to
see the same settings, and statements run on the admin database."""

from __future__ import annotations

import asyncio
import os

import asyncpg

from core.settings import Settings

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
    async def run() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())
