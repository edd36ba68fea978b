"""Background tasks: queue one by name, then read its state and result."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, status

from app.api.deps import CeleryDep
from app.schemas.task import TaskQueued, TaskStatus
from app.services import tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])

TaskName = Annotated[str, Path(max_length=64, description=f"One of {sorted(tasks.QUEUEABLE)}.")]


@router.post("/{name}", response_model=TaskQueued, status_code=status.HTTP_202_ACCEPTED)
async def queue_task(
    name: TaskName, celery: CeleryDep, arguments: Annotated[dict[str, Any] | None, Body()] = None
) -> dict[str, str]:
    checked = tasks.validate(name=name, arguments=arguments or {})
    return {"id": await tasks.enqueue(celery=celery, name=name, arguments=checked)}


@router.get("/{task_id}", response_model=TaskStatus)
async def read_task(task_id: UUID, celery: CeleryDep) -> dict[str, Any]:
    return await tasks.status(celery=celery, task_id=str(task_id))
