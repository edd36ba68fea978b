"""Background tasks: queue one by name, then read its state and result."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, status
from starlette.convertors import Convertor, register_url_convertor

from app.api.deps import CeleryDep, JsonBody
from app.errors import error_responses
from app.schemas.task import ARGUMENTS_BY_TASK, TaskArguments, TaskName, TaskQueued, TaskStatus
from app.services import tasks
from core.tasks import QUEUEABLE

router = APIRouter(prefix="/tasks", tags=["tasks"])


class TaskNameConvertor(Convertor[str]):
    """A path segment that is a task's name: /tasks/{name} and /tasks/{task_id} then never
    match the same path, so a GET to a name, or a POST to an id, is a 405 naming the method
    that path takes, and an unknown name a 404."""

    regex = "|".join(re.escape(name) for name in sorted(QUEUEABLE, key=len, reverse=True))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("task_name", TaskNameConvertor())

# The queued task's id feeds the read of its state.
STATUS_LINK = {
    "read_task": {"operationId": "read_task", "parameters": {"task_id": "$response.body#/id"}}
}


@router.post(
    "/{name:task_name}",
    response_model=TaskQueued,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[JsonBody],
    responses={202: {"links": STATUS_LINK}, **error_responses(404, 413, 415, 422, 503)},
)
async def queue_task(
    name: Annotated[TaskName, Path(description="The task to queue.")],
    celery: CeleryDep,
    arguments: Annotated[
        TaskArguments | None,
        Body(description=f"The task's arguments (none: `{{}}` or no body). {ARGUMENTS_BY_TASK}."),
    ] = None,
) -> dict[str, str]:
    checked = tasks.validate(name=str(name), arguments=arguments)
    return {"id": await tasks.enqueue(celery=celery, name=str(name), arguments=checked)}


@router.get("/{task_id:uuid}", response_model=TaskStatus, responses=error_responses(404, 422, 503))
async def read_task(task_id: UUID, celery: CeleryDep) -> dict[str, Any]:
    return await tasks.status(celery=celery, task_id=str(task_id))
