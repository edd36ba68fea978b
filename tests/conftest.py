"""Session-wide real services (Postgres, Redis) started through the project's own launchers.

Each test that needs the database gets a fresh one, cloned from a migrated template, so the ORM
and the raw-SQL paths are isolated alike; Redis is flushed between tests.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
import redis
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ROOT, Settings, load_settings
from scripts.bench_report import record_suite_run
from tests.support import ServiceProcess, free_port

DEV = str(ROOT / ".venv" / "bin" / "dev")
TEST_STATE = ROOT / ".state" / "test"
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


@pytest.fixture(scope="session")
def service_overrides() -> Iterator[dict[str, str]]:
    """Settings of this test session: its own state dir and free ports."""
    state_dir = TEST_STATE / f"session-{uuid.uuid4().hex[:8]}"
    overrides = {
        "ENVIRONMENT": "test",
        "STATE_DIR": str(state_dir),
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "LOGSERVER_ENABLED": "false",
        "DEBUG": "",
    }
    yield overrides
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def services(service_overrides: dict[str, str]) -> Iterator[Settings]:
    """A real Postgres and Redis for the session, started with `dev run postgres|redis`."""
    settings = load_settings(**{k.lower(): v for k, v in service_overrides.items()})
    env = settings_env(service_overrides)
    log_dir = settings.state_dir / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    postgres = ServiceProcess(
        "postgres", [DEV, "run", "postgres", *POSTGRES_TEST_ARGS], env, log_dir
    )
    redis_server = ServiceProcess("redis", [DEV, "run", "redis"], env, log_dir)
    with postgres, redis_server:
        postgres.wait_until(lambda: _postgres_answers(settings), timeout=60)
        redis_server.wait_until(lambda: _redis_answers(settings), timeout=30)
        yield settings


def _postgres_answers(settings: Settings) -> bool:
    async def probe() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn, timeout=2)
        await connection.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    return True


def _redis_answers(settings: Settings) -> bool:
    try:
        with redis.Redis.from_url(settings.redis_url, socket_timeout=2) as client:
            return bool(client.ping())
    except redis.ConnectionError:
        return False


TEMPLATE_DB = "app_template"


@pytest.fixture(scope="session")
def migrated_template(services: Settings) -> str:
    """A database migrated by the real `alembic upgrade head`: the template of each test's."""
    admin_sql(services, f'CREATE DATABASE "{TEMPLATE_DB}"')
    template = services.model_copy(update={"postgres_db": TEMPLATE_DB})
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "alembic"),
            "-x",
            f"url={template.sqlalchemy_url}",
            "upgrade",
            "head",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return TEMPLATE_DB


_database_numbers = itertools.count()


@pytest.fixture
def settings(services: Settings, migrated_template: str) -> Iterator[Settings]:
    """Settings pointing at a fresh, migrated database and an empty Redis database."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin_sql(services, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    with redis.Redis.from_url(services.redis_url) as client:
        client.flushdb()
    yield services.model_copy(update={"postgres_db": name})
    admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')


def admin_sql(settings: Settings, statement: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app, with its lifespan running, on the test's own database."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def pytest_report_header() -> str:
    return f"python {sys.version.split()[0]}; state under {TEST_STATE}"


_session_began = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run of the whole suite leaves its wall time where `make bench-dev` reports it from."""
    whole = session.config.args in ([], [str(ROOT / "tests")], ["tests"])
    if not whole or exitstatus != 0 or session.config.option.collectonly:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = len(reporter.stats.get("passed", [])) if reporter is not None else 0
    if passed:
        record_suite_run(time.monotonic() - _session_began, passed)
