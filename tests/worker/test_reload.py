"""In dev, `dev run worker` runs the worker under its reloader (worker/reloader.py): an edit under
worker/ restarts it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from celery import Celery

from core.settings import ROOT, Settings
from tests.support.processes import wait_for
from tests.support.services import own_redis_databases, redis_env
from tests.support.worker import running_worker, worker_pid
from worker.celery_app import create_celery

RESTART_SECONDS = 40


@pytest.fixture
def reload_settings(worker_settings: Settings) -> Iterator[Settings]:
    # Broker and results of its own: the session's worker has the same node name.
    with own_redis_databases(worker_settings) as own:
        yield own


@pytest.fixture
def reload_celery(reload_settings: Settings) -> Iterator[Celery]:
    celery = create_celery(reload_settings)
    yield celery
    celery.close()


def test_an_edit_under_worker_restarts_the_worker(
    reload_settings: Settings,
    reload_celery: Celery,
    worker_env: dict[str, str],
    record_property: Callable[[str, object], None],
) -> None:
    env = {**worker_env, "ENVIRONMENT": "dev", **redis_env(reload_settings)}
    edit = ROOT / "worker" / f"_edit_probe_{uuid.uuid4().hex[:8]}.py"
    # The solo pool stops quicker than prefork's; what restarts it is the same.
    with running_worker(
        "worker-reload", env, reload_settings, reload_celery, "--pool", "solo"
    ) as process:
        first = worker_pid(reload_celery)
        began = time.monotonic()
        try:
            edit.write_text("# written by tests/worker/test_reload.py, deleted right after\n")
            wait_for(
                lambda: worker_pid(reload_celery) not in (None, first),
                RESTART_SECONDS,
                "the worker to restart after an edit",
            )
        finally:
            edit.unlink(missing_ok=True)
        seconds = time.monotonic() - began
        record_property("worker_restart_seconds", round(seconds, 2))
        print(f"worker restart after an edit: {seconds:.2f}s")
        assert "change detected" in process.output()
