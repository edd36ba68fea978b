"""API shapes of background tasks: a queued task's id, and a task's state (the arguments each
task takes are part of its contract, core.tasks)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TaskQueued(BaseModel):
    id: str


class TaskStatus(BaseModel):
    """`state` as Celery names it: PENDING (also: unknown id), STARTED, RETRY, SUCCESS, FAILURE.

    `result` is the task's return value on SUCCESS, `{"type", "message"}` of the error on FAILURE
    and RETRY, and null otherwise."""

    id: str
    state: str
    result: Any = None
