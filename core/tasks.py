"""The task contract between the api, beat and the worker: each task's public name, the Celery
name the worker registers it under (the explicit `name=` in worker/tasks.py, so that moving a
module renames no task) and the model of its arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from core.validators import JSON_INTEGER

# lt=2**63, not le=2**63 - 1: a float holds 2**63 exactly, and the OpenAPI bounds pass through
# floats (app/openapi.py).
UserId = Annotated[int, Field(ge=1, lt=2**63), JSON_INTEGER]


class NoArguments(BaseModel):
    # Strict, as the api's bodies: JSON's true is not the user 1, nor "1".
    model_config = ConfigDict(extra="forbid", strict=True)


class UserReportArguments(NoArguments):
    user_id: UserId


@dataclass(frozen=True)
class TaskContract:
    """One task: its Celery name, the arguments it takes, and whether the api may queue it."""

    celery_name: str
    arguments: type[BaseModel]
    queueable: bool = True


TASKS: dict[str, TaskContract] = {
    "ping": TaskContract("worker.tasks.ping", NoArguments),
    "user_report": TaskContract("worker.tasks.build_user_report", UserReportArguments),
    "user_stats": TaskContract("worker.tasks.record_user_stats", NoArguments),
    # part: logserver
    "prune_log_files": TaskContract("worker.tasks.prune_log_files", NoArguments, queueable=False),
    # end part: logserver
}
QUEUEABLE: dict[str, TaskContract] = {name: task for name, task in TASKS.items() if task.queueable}


def celery_name(name: str) -> str:
    """The Celery name of task `name` (a key of TASKS)."""
    return TASKS[name].celery_name
