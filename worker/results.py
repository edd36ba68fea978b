"""Where task results are kept: the project's Redis, read by polling."""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend


class PolledRedisBackend(RedisBackend):  # type: ignore[misc]
    """Redis results, without the pub/sub subscription Celery opens for each task it sends.

    The subscription only speeds up `AsyncResult.get()`, which nothing here calls on a sent task
    (the api reads a task's state with one GET; `get()` still subscribes when it is called).
    Without it, sending costs no extra connection, and a Redis outage cannot wedge the subscriber
    ("Retry limit exceeded ... The Celery application must be restarted").
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Nothing to do before a task is sent."""
