"""`dev db`: the schema through Alembic (upgrade, downgrade, revision, reset)."""

from __future__ import annotations

import asyncio
import re
import subprocess

from core.settings import ROOT, Settings
from scripts.launch import VENV_BIN, LaunchError, exec_command

ALEMBIC = str(VENV_BIN / "alembic")
VERSIONS = ROOT / "migrations" / "versions"
_REVISION = re.compile(r"^(down_)?revision(?::[^=]*)?=\s*(?:\"([^\"]*)\"|'([^']*)'|None)", re.M)


def heads() -> set[str]:
    """The head revisions of migrations/versions, read from the files' text (`revision = "..."`,
    `down_revision = ...`) without importing Alembic or SQLAlchemy."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        for down, double, single in _REVISION.findall(path.read_text()):
            value = double or single
            if value:
                (parents if down else revisions).add(value)
    return revisions - parents


def current(settings: Settings) -> set[str]:
    """The revisions the database is at: none if Alembic never ran there, or if the database
    does not answer (Alembic then says what is wrong)."""
    import asyncpg  # here: only `dev run migrate` needs it

    async def read() -> set[str]:
        try:
            connection = await asyncpg.connect(settings.postgres_dsn, timeout=10)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return set()
        try:
            rows = await connection.fetch("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            return set()
        finally:
            await connection.close()
        return {row["version_num"] for row in rows}

    return asyncio.run(read())


def upgrade_to_head(settings: Settings, args: list[str]) -> None:
    """`alembic upgrade head`, unless the database is at head already: then one line, and done
    without starting Alembic (a second of imports on every `make dev`)."""
    if not args:
        wanted, at = heads(), current(settings)
        if wanted and at == wanted:
            print(f"--> the database is at head ({', '.join(sorted(at))}): nothing to migrate")
            return
    alembic("upgrade", "head", *args)


def alembic_argv(*args: str, url: str | None = None) -> list[str]:
    """`alembic args`, against `url` instead of the settings' database when given: the one way
    the dev CLI, the migrate process, the bench and the tests run Alembic."""
    return [ALEMBIC, *(["-x", f"url={url}"] if url else []), *args]


def alembic(*args: str) -> None:
    """Becomes `alembic args` (its own output and exit status)."""
    exec_command(alembic_argv(*args))


def reset() -> None:
    """Every migration down, then up again: an empty, current schema."""
    for step in (["downgrade", "base"], ["upgrade", "head"]):
        print(f"--> alembic {' '.join(step)}", flush=True)
        if subprocess.run(alembic_argv(*step), check=False).returncode != 0:
            raise LaunchError(f"alembic {' '.join(step)} failed (see above)")
