"""Is the database's schema at Alembic's head? The migrate step's lock, and the wait of the
components that need the schema.

`python -m app.db.schema_head [SECONDS]` exits 0 once the database's revisions are the scripts'
heads, and 1 with one line if they are not within SECONDS (300): the init container of api,
worker and beat on Kubernetes, where nothing else orders them after the migrate Job. With
`--reachable` it waits only until the database answers: the migrate Job's, which runs once.
"""

from __future__ import annotations

import asyncio
import sys
import time

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from core.settings import ROOT, Settings, get_settings

# pg_advisory_xact_lock's key: every `alembic upgrade` takes it in its transaction, so runs that
# start together (two migrate Jobs, a Job and a developer) apply each revision once.
MIGRATION_LOCK = 0x6D696772617465  # "migrate"
POLL_SECONDS = 2.0


def lock_migrations(connection: Connection) -> None:
    """Wait for, then hold until the transaction ends, the one migration lock."""
    connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))


def script_heads() -> set[str]:
    """The head revisions of migrations/ (pyproject.toml's [tool.alembic])."""
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    return set(ScriptDirectory.from_config(config).get_heads())


def _database_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def database_heads(settings: Settings) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_database_heads)
    finally:
        await engine.dispose()


async def wait_for_head(settings: Settings, timeout: float, *, any_revision: bool = False) -> bool:
    """Poll until the database is at the scripts' heads (True) or `timeout` passes (False); a
    database that does not answer yet counts as not at head. `any_revision`: until it answers."""
    wanted = script_heads()
    deadline = time.monotonic() + timeout
    while True:
        try:
            heads = await database_heads(settings)
            if any_revision or heads == wanted:
                return True
        except (OSError, DBAPIError):
            pass
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    reachable = args[:1] == ["--reachable"]
    args = args[1:] if reachable else args
    if len(args) > 1 or (args and not args[0].isdigit()):
        print("usage: python -m app.db.schema_head [--reachable] [SECONDS]", file=sys.stderr)
        return 2
    timeout = float(args[0]) if args else 300.0
    settings = get_settings()
    wanted = "an answer" if reachable else f"revision {', '.join(sorted(script_heads()))}"
    print(f"schema: waiting for {wanted} from {settings.postgres_host}", flush=True)
    if asyncio.run(wait_for_head(settings, timeout, any_revision=reachable)):
        print("schema: the database answers" if reachable else "schema: at head", flush=True)
        return 0
    why = "no answer" if reachable else "not at head (has the migrate Job run?)"
    print(f"schema: {why} after {timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
