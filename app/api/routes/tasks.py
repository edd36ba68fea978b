"""Background tasks: an operation per task the api may queue, generated from the task contract
(core.tasks): `POST /tasks/<name>`, operation id `queue_<name>`, whose body is the task's own
arguments model (none when it takes none); and the read of a task's state."""

# Not `from __future__ import annotations`: a queue handler's body is annotated with its task's
# model, a local variable, so the annotation must be evaluated where it is written.

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel

from app.api.deps import CeleryDep, JsonBody, NoBody
from app.errors import error_responses
from app.schemas.task import TaskQueued, TaskStatus
from app.services import tasks
from core.tasks import QUEUEABLE, TaskContract

router = APIRouter(prefix="/tasks", tags=["tasks"])

# The queued task's id feeds the read of its state.
STATUS_LINK = {
    "read_task": {"operationId": "read_task", "parameters": {"task_id": "$response.body#/id"}}
}

QueueHandler = Callable[..., Awaitable[dict[str, str]]]


def queue_handler(name: str, arguments: type[BaseModel]) -> QueueHandler:
    """The handler that queues task `name`: its body is the task's arguments, if it takes any."""
    if not arguments.model_fields:

        async def queue(celery: CeleryDep) -> dict[str, str]:
            return {"id": await tasks.enqueue(celery=celery, name=name, arguments=arguments())}

        return queue

    async def queue_with(body: arguments, celery: CeleryDep) -> dict[str, str]:  # type: ignore[valid-type]
        return {"id": await tasks.enqueue(celery=celery, name=name, arguments=body)}

    return queue_with


def add_queue_operation(name: str, task: TaskContract) -> None:
    """`POST /tasks/<name>`, operation `queue_<name>`, for a task of the contract."""
    takes_body = bool(task.arguments.model_fields)
    router.add_api_route(
        f"/{name}",
        queue_handler(name, task.arguments),
        methods=["POST"],
        name=f"queue_{name}",
        summary=f"Queue {name}",
        description=f"Queues task `{name}` with its arguments ({task.arguments.__name__})."
        if takes_body
        else f"Queues task `{name}`, which takes no arguments: no body (or `{{}}`).",
        response_model=TaskQueued,
        status_code=status.HTTP_202_ACCEPTED,
        dependencies=[JsonBody if takes_body else NoBody],
        responses={
            202: {"links": STATUS_LINK},
            **error_responses(*((413, 415, 422, 503) if takes_body else (422, 503))),
        },
    )


for task_name, contract in QUEUEABLE.items():
    add_queue_operation(task_name, contract)


@router.get("/{task_id:uuid}", response_model=TaskStatus, responses=error_responses(404, 422, 503))
async def read_task(task_id: UUID, celery: CeleryDep) -> dict[str, Any]:
    return await tasks.status(celery=celery, task_id=str(task_id))
