"""The migration lock and the wait for the schema's head, on a real Postgres: what the migrate
Job and the init containers of deploy/k8s rely on."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.db.schema_head import database_heads, script_heads, wait_for_head
from core.settings import ROOT, Settings
from scripts.db import alembic_argv
from scripts.ports import free_port
from tests.support.services import admin_sql, settings_env

RUNS = 4


@pytest.fixture
def empty_database(services: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    name = f"schema_head_{request.node.name[:30]}".lower()
    admin_sql(services, f'CREATE DATABASE "{name}"')
    try:
        yield services.model_copy(update={"postgres_db": name})
    finally:
        admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')


def test_concurrent_upgrades_apply_each_revision_once(empty_database: Settings) -> None:
    """Without the lock, the runs that start together each create the tables, and all but one
    fail on a duplicate; with it, each waits and then finds the schema at head."""
    url = empty_database.sqlalchemy_url
    runs = [
        subprocess.Popen(
            alembic_argv("upgrade", "head", url=url),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(RUNS)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * RUNS, "\n".join(outputs)
    assert asyncio.run(database_heads(empty_database)) == script_heads()


def test_the_wait_ends_when_the_schema_reaches_head(empty_database: Settings) -> None:
    assert asyncio.run(database_heads(empty_database)) == set()
    assert not asyncio.run(wait_for_head(empty_database, timeout=0))
    assert asyncio.run(wait_for_head(empty_database, timeout=0, any_revision=True))
    nowhere = empty_database.model_copy(update={"postgres_port": free_port()})
    assert not asyncio.run(wait_for_head(nowhere, timeout=0, any_revision=True))
    subprocess.run(
        alembic_argv("upgrade", "head", url=empty_database.sqlalchemy_url), cwd=ROOT, check=True
    )
    assert asyncio.run(wait_for_head(empty_database, timeout=0))


def test_the_wait_gives_up_with_one_line(
    empty_database: Settings, service_overrides: dict[str, str]
) -> None:
    environment = settings_env({**service_overrides, "POSTGRES_DB": empty_database.postgres_db})
    done = subprocess.run(
        [sys.executable, "-m", "app.db.schema_head", "0"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "schema: not at head (has the migrate Job run?) after 0 s"
    ]
