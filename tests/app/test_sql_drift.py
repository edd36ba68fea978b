"""Every aiosql query in sql/ must prepare against the schema that the migrations build."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.queries import load_queries
from app.models import Base
from core.settings import Settings

QUERIES = load_queries()
NAMES = sorted(name for name in QUERIES.available_queries if not name.endswith("_cursor"))


def test_there_are_queries() -> None:
    assert "list_users_page" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_query_prepares_against_the_migrated_schema(settings: Settings, name: str) -> None:
    async def prepare() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn)
        try:
            await connection.prepare(getattr(QUERIES, name).sql)
        finally:
            await connection.close()

    asyncio.run(prepare())


def test_a_drifted_query_fails(settings: Settings) -> None:
    async def prepare() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn)
        try:
            await connection.prepare("select nickname from users")
        finally:
            await connection.close()

    with pytest.raises(asyncpg.UndefinedColumnError):
        asyncio.run(prepare())


def test_migrations_match_the_models(settings: Settings) -> None:
    """Alembic's autogenerate finds nothing to change: the models and the migrations agree."""

    async def compare() -> list[object]:
        engine = create_async_engine(settings.sqlalchemy_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    assert asyncio.run(compare()) == []
