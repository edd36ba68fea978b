"""The Celery worker as the tests run it (`dev run worker`), and waiting on it and its tasks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from celery import Celery
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess, wait_for
from worker import node_name

WORKER_READY_SECONDS = 40
TASK_SECONDS = 20


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
