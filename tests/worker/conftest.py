"""A real Celery worker, started with `dev run worker` as a subprocess, on the session's Redis and a
migrated database of its own; and a Celery client of the same settings to watch it with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from celery import Celery
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import DEV, admin_sql, settings_env
from tests.support import ServiceProcess, wait_for
from worker import node_name
from worker.celery_app import create_celery

WORKER_READY_SECONDS = 40
TASK_SECONDS = 20


@pytest.fixture(scope="session")
def worker_settings(services: Settings, migrated_template: str) -> Iterator[Settings]:
    """The session's services, with a migrated database for the worker's tasks to read."""
    name = f"worker_{os.getpid()}"
    admin_sql(services, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    yield services.model_copy(update={"postgres_db": name})
    admin_sql(services, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_env(service_overrides: dict[str, str], worker_settings: Settings) -> dict[str, str]:
    """The environment in which a subprocess sees `worker_settings`."""
    return settings_env(
        {**service_overrides, "POSTGRES_DB": worker_settings.postgres_db, "WORKER_CONCURRENCY": "2"}
    )


@pytest.fixture(scope="session")
def celery_client(worker_settings: Settings) -> Iterator[Celery]:
    """A Celery app of the worker's settings: to ping the worker and read results directly."""
    celery = create_celery(worker_settings)
    yield celery
    celery.close()


@pytest.fixture(scope="session")
def worker(
    worker_env: dict[str, str], worker_settings: Settings, celery_client: Celery
) -> Iterator[ServiceProcess]:
    """The worker (prefork pool, no reload: ENVIRONMENT=test), running for the session."""
    with running_worker("worker", worker_env, worker_settings, celery_client) as process:
        yield process


@pytest.fixture
def api(worker_settings: Settings) -> Iterator[TestClient]:
    """The app on the worker's database: what it queues, the worker runs."""
    with TestClient(create_app(worker_settings), raise_server_exceptions=False) as client:
        yield client


@contextmanager
def running_worker(
    name: str, env: dict[str, str], settings: Settings, celery: Celery, *args: str
) -> Iterator[ServiceProcess]:
    """`dev run worker *args` in the background, once it answers `celery`'s ping."""
    log_dir = settings.state_dir / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with ServiceProcess(name, [DEV, "run", "worker", *args], env, log_dir) as process:
        process.wait_until(lambda: worker_pid(celery) is not None, timeout=WORKER_READY_SECONDS)
        yield process


def worker_pid(celery: Celery) -> int | None:
    """The pid of the worker's main process, if it answers."""
    stats = celery.control.inspect(destination=[node_name()], timeout=0.5).stats() or {}
    pid = stats.get(node_name(), {}).get("pid")
    return pid if isinstance(pid, int) else None


def wait_for_task(
    client: TestClient, task_id: str, states: set[str], timeout: float = TASK_SECONDS
) -> dict[str, Any]:
    """The task's status through the API, once it is in one of `states`."""
    seen: dict[str, Any] = {}

    def reached() -> bool:
        response = client.get(f"/api/v1/tasks/{task_id}")
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return seen["state"] in states

    wait_for(reached, timeout, f"task {task_id} to reach {sorted(states)} (last: {seen})")
    return seen


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records among a process's output lines."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return records
