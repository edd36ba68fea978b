"""API shapes of background tasks, generated from the task contract (core.tasks): the names the
api queues, the arguments they take, a queued task's id, and a task's state."""

from __future__ import annotations

from enum import StrEnum
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any, Literal

from celery import states
from pydantic import BaseModel, Field

from core.tasks import QUEUEABLE

if TYPE_CHECKING:
    TaskName = str
    TaskArguments = BaseModel
    TaskState = str
else:
    # An enum in the OpenAPI: clients and fuzzers know every name the api queues.
    TaskName = StrEnum("TaskName", {name: name for name in QUEUEABLE})
    # Any task's arguments; which ones a name takes is checked against its contract.
    TaskArguments = reduce(or_, dict.fromkeys(task.arguments for task in QUEUEABLE.values()))
    TaskState = Literal[tuple(sorted(states.ALL_STATES))]

ARGUMENTS_BY_TASK = ", ".join(
    f"`{name}`: {task.arguments.__name__}" for name, task in QUEUEABLE.items()
)


class TaskQueued(BaseModel):
    id: str = Field(description="The task's id: GET /api/v1/tasks/{task_id} reads its state.")


class TaskStatus(BaseModel):
    """`state` as Celery names it: PENDING (also: unknown id), STARTED, RETRY, SUCCESS, FAILURE.

    `result` is the task's return value on SUCCESS, `{"type", "message"}` of the error on FAILURE
    and RETRY, and null otherwise."""

    id: str
    state: TaskState
    result: Any = None
