"""CRUD of users through the SQLAlchemy async ORM."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from app.api.deps import JsonBody, SessionDep
from app.errors import ApiError, error_responses
from app.models import User
from app.schemas.user import UserCreate, UserOut, UserUpdate
from app.services import users

router = APIRouter(prefix="/users", tags=["users"])

# The created user's id feeds the operations on it: clients and fuzzers reach them through it.
USER_LINKS: dict[str, Any] = {
    operation: {"operationId": operation, "parameters": {"user_id": "$response.body#/id"}}
    for operation in ("read_user", "update_user", "delete_user")
}


async def user_or_404(
    session: SessionDep, user_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> User:
    user = await users.get(session=session, user_id=user_id)
    if user is None:
        raise ApiError(404, f"user {user_id} not found")
    return user


UserDep = Annotated[User, Depends(user_or_404)]


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[JsonBody],
    responses={201: {"links": USER_LINKS}, **error_responses(409, 413, 415, 422, 503)},
)
async def create_user(data: UserCreate, session: SessionDep) -> User:
    return await users.create(session=session, data=data)


@router.get("/{user_id}", response_model=UserOut, responses=error_responses(404, 422, 503))
async def read_user(user: UserDep) -> User:
    return user


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    dependencies=[JsonBody],
    responses=error_responses(404, 409, 413, 415, 422, 503),
)
async def update_user(data: UserUpdate, user: UserDep, session: SessionDep) -> User:
    return await users.update(session=session, user=user, data=data)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404, 422, 503),
)
async def delete_user(user: UserDep, session: SessionDep) -> Response:
    await users.delete(session=session, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
