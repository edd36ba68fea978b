"""The task names the api queues and beat schedules are those the worker registers."""

from __future__ import annotations

from core.settings import Settings
from core.tasks import QUEUEABLE
from worker.celery_app import create_celery
from worker.schedule import DEFAULT_SCHEDULE


def test_every_task_the_api_or_beat_names_is_a_worker_task(worker_settings: Settings) -> None:
    celery = create_celery(worker_settings)
    try:
        celery.loader.import_default_modules()
        named = {queueable.celery_name for queueable in QUEUEABLE.values()}
        named |= {entry["task"] for entry in DEFAULT_SCHEDULE.values()}
        assert named <= set(celery.tasks)
    finally:
        celery.close()
