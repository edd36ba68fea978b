"""A slow task that exists only in the tests: `dev run worker --include tests.worker.slow_task`
loads it. Each run appends `start <pid>` and, once done, `end <pid>` to a Redis list, so a test
sees how many times it ran, in which worker process, and whether a run was cut short."""

from __future__ import annotations

import os
import time

import redis
from celery import Task, shared_task

from core.celery_client import settings_of

NAME = "tests.slow"
MODULE = __name__


@shared_task(name=NAME, bind=True)  # type: ignore[untyped-decorator]
def slow(self: Task, key: str, seconds: float) -> str:
    settings = settings_of(self.app)
    with redis.Redis.from_url(settings.redis_db_url(settings.celery_result_db)) as client:
        client.rpush(key, f"start {os.getpid()}")
        time.sleep(seconds)
        client.rpush(key, f"end {os.getpid()}")
    return "done"


def runs(settings_url: str, key: str) -> list[str]:
    """The list the task's runs appended to."""
    with redis.Redis.from_url(settings_url) as client:
        return [entry.decode() for entry in client.lrange(key, 0, -1)]
