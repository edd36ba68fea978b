"""Background tasks: queue one by name, then read its state and result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from celery import Celery
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Request, status

from app.schemas.task import TaskQueued, TaskStatus
from app.services import tasks
from worker.celery_app import create_celery


@asynccontextmanager
async def celery_client(app: FastAPI) -> AsyncIterator[None]:
    """The Celery app the routes queue through, for the app's lifetime (FastAPI runs a router's
    lifespan inside the app's)."""
    app.state.celery = create_celery(app.state.settings)
    try:
        yield
    finally:
        await to_thread.run_sync(app.state.celery.close)


router = APIRouter(prefix="/tasks", tags=["tasks"], lifespan=celery_client)


async def get_celery(request: Request) -> Celery:
    celery: Celery = request.app.state.celery
    return celery


CeleryDep = Annotated[Celery, Depends(get_celery)]
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
