"""Queueing background tasks and reading their state. Celery's client calls block (a Redis round
trip, retries while the broker is away), so they run in a worker thread, off the event loop."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from celery import Celery, states
from kombu.exceptions import OperationalError
from pydantic import BaseModel

from app.errors import ApiError
from core.tasks import QUEUEABLE

ERROR_STATES = frozenset({states.FAILURE, states.RETRY})


async def enqueue(*, celery: Celery, name: str, arguments: BaseModel) -> str:
    """Queues task `name` (a key of QUEUEABLE) with its `arguments` (of its contract's model) and
    returns its id. Call it after the commit of whatever the task reads, so that the worker finds
    it."""
    send = partial(celery.send_task, QUEUEABLE[name].celery_name, kwargs=arguments.model_dump())
    try:
        result = await to_thread.run_sync(send)
    except OperationalError as error:
        raise ApiError(503, "the task queue is unavailable, try again shortly") from error
    task_id: str = result.id
    return task_id


async def status(*, celery: Celery, task_id: str) -> dict[str, Any]:
    """The state and result of a task, as its result backend has them."""
    meta = await to_thread.run_sync(celery.backend.get_task_meta, task_id)
    state, result = meta["status"], meta["result"]
    if state in ERROR_STATES:
        result = {"type": type(result).__name__, "message": str(result)}
    elif state != states.SUCCESS:
        result = None
    return {"id": task_id, "state": state, "result": result}
