"""All routers of the versioned API."""

from fastapi import APIRouter

from app.api.routes import user, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(user.router)
api_router.include_router(users.router)
