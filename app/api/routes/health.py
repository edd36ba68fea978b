"""Liveness (`/health`) and readiness (`/ready`: Postgres and Redis answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter

from app.api.deps import ResourcesDep
from app.errors import error_response, error_responses
from app.responses import OrjsonResponse
from app.schemas.health import Health, Readiness

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0
NOT_READY = "Not ready: a store is down; `details` holds each check's result, as on a 200."


@router.get("/health", response_model=Health)
async def health() -> OrjsonResponse:
    return OrjsonResponse({"status": "ok"})


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {**error_responses(503)[503], "description": NOT_READY}},
)
async def ready(resources: ResourcesDep) -> OrjsonResponse:
    checks = {
        "postgres": _check(resources.pool.fetchval("select 1")),
        "redis": _check(resources.redis.ping()),
    }
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    if all(result == "ok" for result in results.values()):
        return OrjsonResponse({"status": "ready", "checks": results})
    failed = ", ".join(name for name, result in results.items() if result != "ok")
    return error_response(503, f"not ready: {failed} unavailable", results)


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready", with its reason
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return "ok"
