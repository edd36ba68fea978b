"""The task names the api queues and beat schedules are those the worker registers, under the
names of the task contract (core.tasks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import load_settings
from core.tasks import QUEUEABLE, TASKS
from tests.support.groups import IMPORTS_THE_APP

# No server, no service: make test-fast runs it. Celery is imported where it is used, so that
# collecting this module imports none of it (tests/support/groups.py).
pytestmark = [pytest.mark.fast, IMPORTS_THE_APP]


def test_every_task_the_api_or_beat_names_is_a_worker_task(tmp_path: Path) -> None:
    from worker.celery_app import create_celery
    from worker.schedule import DEFAULT_SCHEDULE

    celery = create_celery(load_settings(state_dir=tmp_path))  # it connects to nothing
    try:
        celery.loader.import_default_modules()
        named = {queueable.celery_name for queueable in QUEUEABLE.values()}
        named |= {entry["task"] for entry in DEFAULT_SCHEDULE.values()}
        assert named <= set(celery.tasks)
        assert {task.celery_name for task in TASKS.values()} <= set(celery.tasks)
    finally:
        celery.close()
