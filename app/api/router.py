"""The routers of the versioned API, each included in the app under one prefix.

They are included one level deep, not through an intermediate router: every level of nesting
costs a match on each request.
"""

from fastapi import APIRouter

from app.api.routes import (
    benchmark,
    tasks,  # part: background
    users,
)

API_PREFIX = "/api/v1"
ROUTERS: tuple[APIRouter, ...] = (
    benchmark.router,
    users.router,
    tasks.router,  # part: background
)
