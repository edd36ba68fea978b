"""The request id across the queue: the HTTP request that queues a task puts its id in the task's
headers (core.celery_client), and the worker sets it for as long as the task runs, so that every
record logged meanwhile (Celery's own included) carries it.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from celery import signals

from core.celery_client import HEADER, connect_publish_hook
from core.context import request_id

# The token of each running task's `request_id.set`, by task id, for its reset.
_tokens: dict[str, Token[str | None]] = {}


def connect() -> None:
    """Connects the handlers below (and the publish hook); connecting again changes nothing."""
    connect_publish_hook()
    signals.task_prerun.connect(enter_task, weak=False, dispatch_uid=__name__ + ".enter")
    signals.task_postrun.connect(leave_task, weak=False, dispatch_uid=__name__ + ".leave")


def enter_task(task_id: str, task: Any, **_: Any) -> None:
    _tokens[task_id] = request_id.set(getattr(task.request, HEADER, None))


def leave_task(task_id: str, **_: Any) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id.reset(token)
