"""A real Celery worker, started with `dev run worker` as a subprocess, on the session's Redis and a
migrated database of its own; and a Celery client of the same settings to watch it with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# The fixtures import what they use, not this file (tests/conftest.py says why).
if TYPE_CHECKING:
    from celery import Celery
    from fastapi.testclient import TestClient

    from core.settings import Settings
    from tests.support.processes import ServiceProcess


@pytest.fixture(scope="session")
def worker_settings(services: Settings, migrated_template: str) -> Iterator[Settings]:
    """The session's services, with a migrated database for the worker's tasks to read, and
    Redis databases of its own: the `settings` fixture empties the default ones for each test."""
    from tests.support.services import admin_sql, own_redis_databases

    name = f"worker_{os.getpid()}"
    admin_sql(services, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        with own_redis_databases(services.model_copy(update={"postgres_db": name})) as own:
            yield own
    finally:
        admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_env(service_overrides: dict[str, str], worker_settings: Settings) -> dict[str, str]:
    """The environment in which a subprocess sees `worker_settings`."""
    from tests.support.services import redis_env, settings_env

    return settings_env(
        {
            **service_overrides,
            **redis_env(worker_settings),
            "POSTGRES_DB": worker_settings.postgres_db,
            "WORKER_CONCURRENCY": "2",
        }
    )


@pytest.fixture(scope="session")
def celery_client(worker_settings: Settings) -> Iterator[Celery]:
    """A Celery app of the worker's settings: to ping the worker and read results directly."""
    from worker.celery_app import create_celery

    celery = create_celery(worker_settings)
    yield celery
    celery.close()


@pytest.fixture(scope="session")
def worker(
    worker_env: dict[str, str], worker_settings: Settings, celery_client: Celery
) -> Iterator[ServiceProcess]:
    """The worker (prefork pool, no reload: ENVIRONMENT=test), running for the session."""
    from tests.support.worker import running_worker

    with running_worker("worker", worker_env, worker_settings, celery_client) as process:
        yield process


@pytest.fixture(scope="module")
def served_api(worker_settings: Settings) -> Iterator[str]:
    """The base URL of the api served over HTTP on the worker's database."""
    from tests.support import served

    with served.served_api(worker_settings) as url:
        yield url


@pytest.fixture
def api(worker_settings: Settings) -> Iterator[TestClient]:
    """The app on the worker's database: what it queues, the worker runs."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(worker_settings), raise_server_exceptions=False) as client:
        yield client
