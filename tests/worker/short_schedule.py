"""The worker's app with every periodic task due each second: `celery --app
tests.worker.short_schedule beat` is the test's beat (its settings come from its environment)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from worker.celery_app import create_celery
from worker.schedule import DEFAULT_SCHEDULE

SECONDS = 1.0
SCHEDULE: dict[str, dict[str, Any]] = {
    name: {**entry, "schedule": SECONDS} for name, entry in DEFAULT_SCHEDULE.items()
}


def __getattr__(name: str) -> Celery:
    if name == "app":
        return create_celery(schedule=SCHEDULE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
