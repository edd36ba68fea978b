"""API shapes of background tasks: a queued task's id, and a task's state. The arguments each
task takes are its contract's model (core.tasks), the body of its own operation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from celery import states
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    TaskState = str
else:
    TaskState = Literal[tuple(sorted(states.ALL_STATES))]


class TaskQueued(BaseModel):
    id: str = Field(description="The task's id: GET /api/v1/tasks/{task_id} reads its state.")


class TaskStatus(BaseModel):
    """`state` as Celery names it: PENDING (also: unknown id), STARTED, RETRY, SUCCESS, FAILURE.

    `result` is the task's return value on SUCCESS, `{"type", "message"}` of the error on FAILURE
    and RETRY, and null otherwise."""

    id: str
    state: TaskState
    result: Any = None
