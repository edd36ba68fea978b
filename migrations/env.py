"""Alembic environment: runs migrations on the async engine, URL from the project settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.schema_head import lock_migrations
from app.models import Base
from core.settings import get_settings

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """`-x url=...` (tests, tools) wins over the settings."""
    return context.get_x_argument(as_dictionary=True).get("url") or get_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Concurrent runs queue here; the next one then reads the versions the first committed.
        lock_migrations(connection)
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
