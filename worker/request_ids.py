"""The request id across the queue: the HTTP request that queues a task puts its id in the task's
headers, and the worker sets it for as long as the task runs, so that every record logged
meanwhile (Celery's own included) carries it.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from celery import signals

from app.context import request_id

HEADER = "request_id"

# The token of each running task's `request_id.set`, by task id, for its reset.
_tokens: dict[str, Token[str | None]] = {}


def connect() -> None:
    """Connects the handlers below; connecting again changes nothing."""
    signals.before_task_publish.connect(add_to_headers, weak=False, dispatch_uid=__name__ + ".add")
    signals.task_prerun.connect(enter_task, weak=False, dispatch_uid=__name__ + ".enter")
    signals.task_postrun.connect(leave_task, weak=False, dispatch_uid=__name__ + ".leave")


def add_to_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    current = request_id.get()
    if current is not None and headers is not None:
        headers.setdefault(HEADER, current)


def enter_task(task_id: str, task: Any, **_: Any) -> None:
    _tokens[task_id] = request_id.set(getattr(task.request, HEADER, None))


def leave_task(task_id: str, **_: Any) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id.reset(token)
