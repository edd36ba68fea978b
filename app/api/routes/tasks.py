"""Background tasks: queue one by name, then read its state and result."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, status

from app.api.deps import CeleryDep, JsonBody
from app.errors import error_responses
from app.schemas.task import ARGUMENTS_BY_TASK, TaskArguments, TaskName, TaskQueued, TaskStatus
from app.services import tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])

# The queued task's id feeds the read of its state.
STATUS_LINK = {
    "read_task": {"operationId": "read_task", "parameters": {"task_id": "$response.body#/id"}}
}


@router.post(
    "/{name}",
    response_model=TaskQueued,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[JsonBody],
    responses={202: {"links": STATUS_LINK}, **error_responses(413, 415, 422, 503)},
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


@router.get("/{task_id}", response_model=TaskStatus, responses=error_responses(422, 503))
async def read_task(task_id: UUID, celery: CeleryDep) -> dict[str, Any]:
    return await tasks.status(celery=celery, task_id=str(task_id))
