"""The Celery client side, which the api (publishing tasks by name) and the worker share: broker
and results on the project's Redis, JSON on the wire, and the hook that puts the current request
id into the headers of every task published.

Building a client connects no worker or beat signal and imports nothing of `worker`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery, signals
from celery.backends.redis import RedisBackend

from core.context import request_id
from core.settings import Settings

HEADER = "request_id"
RESULT_BACKEND = "core.celery_client:PolledRedisBackend"


def create_client(settings: Settings) -> Celery:
    """A Celery app that publishes tasks and reads their results (the worker's adds the rest)."""
    connect_publish_hook()
    celery = Celery(
        "worker",
        broker=settings.redis_db_url(settings.celery_broker_db),
        backend=f"{RESULT_BACKEND}+{settings.redis_db_url(settings.celery_result_db)}",
    )
    celery.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        result_extended=True,
        result_expires=timedelta(days=1),
        task_send_sent_event=True,
        redis_socket_connect_timeout=5,
        redis_socket_timeout=10,
    )
    celery.project_settings = settings
    return celery


def settings_of(celery: Celery) -> Settings:
    """The project settings `celery` was built from (tasks read theirs from their app)."""
    settings: Settings = celery.project_settings
    return settings


def connect_publish_hook() -> None:
    """Connects `add_to_headers`; connecting again changes nothing (signals are process-wide)."""
    signals.before_task_publish.connect(add_to_headers, weak=False, dispatch_uid=__name__ + ".add")


def add_to_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    current = request_id.get()
    if current is not None and headers is not None:
        headers.setdefault(HEADER, current)


class PolledRedisBackend(RedisBackend):  # type: ignore[misc]
    """Redis results, without the pub/sub subscription Celery opens for each task it sends.

    The subscription only speeds up `AsyncResult.get()`, which nothing here calls on a sent task
    (the api reads a task's state with one GET; `get()` still subscribes when it is called).
    Without it, sending costs no extra connection, and a Redis outage cannot wedge the subscriber
    ("Retry limit exceeded ... The Celery application must be restarted").
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Nothing to do before a task is sent."""
