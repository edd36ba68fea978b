"""API shapes of background tasks: the arguments each queueable task takes, and a task's state."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

UserId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserReportArguments(NoArguments):
    user_id: UserId


class TaskQueued(BaseModel):
    id: str


class TaskStatus(BaseModel):
    """`state` as Celery names it: PENDING (also: unknown id), STARTED, RETRY, SUCCESS, FAILURE.

    `result` is the task's return value on SUCCESS, `{"type", "message"}` of the error on FAILURE
    and RETRY, and null otherwise."""

    id: str
    state: str
    result: Any = None
