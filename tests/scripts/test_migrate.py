"""`dev run migrate` (the stack's one-shot): Alembic when the database is behind, and nothing but
one line when it is at head already (no Alembic start on every `make dev`)."""

from __future__ import annotations

import os
import subprocess

import pytest

from core.settings import ROOT, Settings
from scripts import db
from tests.support.groups import IMPORTS_THE_APP
from tests.support.paths import DEV
from tests.support.services import admin_sql, settings_env


@pytest.mark.fast
@IMPORTS_THE_APP
def test_heads_read_from_the_files_are_alembics() -> None:
    # Alembic is imported here, so that collecting this module imports none of it.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(toml_file=str(ROOT / "pyproject.toml")))
    assert db.heads() == set(script.get_heads())


def test_migrate_runs_alembic_then_finds_the_database_at_head(
    services: Settings, service_overrides: dict[str, str]
) -> None:
    name = f"migrate_{os.getpid()}"
    admin_sql(services, f'CREATE DATABASE "{name}"')
    env = settings_env({**service_overrides, "POSTGRES_DB": name})

    def migrate() -> str:
        done = subprocess.run(
            [DEV, "run", "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    try:
        first = migrate()
        assert "nothing to migrate" not in first and "alembic upgrade head" in first, first
        assert db.current(services.model_copy(update={"postgres_db": name})) == db.heads()
        second = migrate()
        assert f"at head ({', '.join(sorted(db.heads()))}): nothing to migrate" in second, second
        assert "alembic upgrade head" not in second
    finally:
        admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')
