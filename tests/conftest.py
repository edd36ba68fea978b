"""Session-wide real services (Postgres, Redis) started through the project's own launchers.

Each test that needs the database gets a fresh one, cloned from a migrated template, so the ORM
and the raw-SQL paths are isolated alike; Redis is flushed between tests.
"""

from __future__ import annotations

import atexit
import gc
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.tiers import summary_lines

# The fixtures import what they use when they run, not here: this file is loaded by every test
# process, `make test-fast`'s controller too, which runs no test and starts its workers only once
# it has loaded it (the settings' and the services' imports are 0.1 s of its start).
if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from core.settings import Settings
    from scripts.isolated import IsolatedRun
    from tests.support.logserver import InProcessLogServer  # part: logserver

# Freezing the heap as the interpreter exits spares its last collection (0.2-0.4 s of a test
# process's exit with the app and Celery imported). Whichever atexit handlers run after it still
# run: a frozen object is only left out of the collector's passes.
atexit.register(gc.freeze)


@pytest.fixture(scope="session")
def session_run() -> Iterator[IsolatedRun]:
    """Settings of this test session: its own state dir and free ports."""
    from scripts.isolated import isolated_run
    from tests.support.paths import TEST_STATE

    state_dir = TEST_STATE / f"session-{uuid.uuid4().hex[:8]}"
    yield isolated_run(
        state_dir,
        environment="test",
        logserver_enabled="false",  # part: logserver
    )
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def service_overrides(session_run: IsolatedRun) -> dict[str, str]:
    """The variables that give a subprocess the session's settings."""
    return session_run.overrides


@pytest.fixture(scope="session")
def services(session_run: IsolatedRun) -> Iterator[Settings]:
    """A real Postgres and Redis for the session, started with `dev run postgres|redis`."""
    from scripts.probes import postgres_ready, redis_ping
    from tests.support.paths import DEV
    from tests.support.processes import ServiceProcess
    from tests.support.services import POSTGRES_TEST_ARGS

    settings, env = session_run.settings, session_run.env
    log_dir = settings.state_dir / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    postgres = ServiceProcess(
        "postgres", [DEV, "run", "postgres", *POSTGRES_TEST_ARGS], env, log_dir
    )
    redis_server = ServiceProcess("redis", [DEV, "run", "redis"], env, log_dir)
    with postgres, redis_server:
        postgres.wait_until(lambda: postgres_ready(settings), timeout=60)
        redis_server.wait_until(lambda: redis_ping(settings), timeout=30)
        yield settings


TEMPLATE_DB = "app_template"


@pytest.fixture(scope="session")
def migrated_template(services: Settings) -> str:
    """A database migrated by the real `alembic upgrade head`: the template of each test's."""
    from core.settings import ROOT
    from scripts.db import alembic_argv
    from tests.support.services import admin_sql

    admin_sql(services, f'CREATE DATABASE "{TEMPLATE_DB}"')
    template = services.model_copy(update={"postgres_db": TEMPLATE_DB})
    subprocess.run(
        alembic_argv("upgrade", "head", url=template.sqlalchemy_url),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return TEMPLATE_DB


@pytest.fixture
def settings(services: Settings, migrated_template: str) -> Iterator[Settings]:
    """Settings pointing at a fresh, migrated database and an empty Redis database."""
    from tests.support.services import fresh_database

    with fresh_database(services, migrated_template) as fresh:
        yield fresh


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app, with its lifespan running, on the test's own database."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


# part: logserver
@pytest.fixture
def logserver(tmp_path: Path) -> Iterator[InProcessLogServer]:
    """A real log server, in this process on its own loop thread, storing under tmp_path/logs;
    the test fails if the server did not stop cleanly (drained, flushed, no error)."""
    from tests.support.logserver import InProcessLogServer

    with InProcessLogServer(tmp_path / "logs") as server:
        yield server


# end part: logserver


@pytest.fixture(autouse=True)
def _grouped_as_marked(request: pytest.FixtureRequest) -> None:
    """Under `--dist loadgroup`, pytest-xdist groups tests by a suffix it adds to their ids;
    where it cannot (pytest-xdist#1386), it spreads them silently. Fail instead (see FRESH)."""
    node = request.node
    if (
        getattr(request.config.option, "loadgroup", False)
        and node.get_closest_marker("xdist_group")
        and "@" not in node.nodeid
    ):
        pytest.fail(
            "pytest-xdist did not put this test in its group: this pytest and pytest-xdist "
            "do not work together (see pytest's pin in pyproject.toml)"
        )


def pytest_report_header() -> str:
    from tests.support.paths import TEST_STATE

    return f"python {sys.version.split()[0]}; state under {TEST_STATE}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The run's last lines: the tiers that could not run here (tests/support/tiers.py)."""
    lines = summary_lines()
    if lines:
        terminalreporter.section("tiers not run", sep="=", yellow=True, bold=True)
        for line in lines:
            terminalreporter.write_line(line)
