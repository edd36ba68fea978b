"""User operations: the ORM path (create, read, update, delete) and the raw-SQL page."""

from __future__ import annotations

import math
from typing import Any

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ApiError
from app.models import User
from app.schemas.user import UserCreate, UserUpdate

USER_FIELDS = ("id", "username", "email", "age", "mobile", "address", "created_at", "updated_at")


async def list_page(
    *, pool: asyncpg.Pool, queries: Any, page: int, page_size: int
) -> dict[str, Any]:
    """One page of users and the total, in one query on the asyncpg pool."""
    rows = [
        row
        async for row in queries.list_users_page(
            pool, limit=page_size, offset=(page - 1) * page_size
        )
    ]
    total = rows[0]["total"] if rows else 0
    items = [{field: row[field] for field in USER_FIELDS} for row in rows if row["id"] is not None]
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size),
    }


async def get(*, session: AsyncSession, user_id: int) -> User | None:
    """The user with `user_id`, or None."""
    return await session.get(User, user_id)


async def create(*, session: AsyncSession, data: UserCreate) -> User:
    """A new user; a taken username is a 409."""
    user = User(**data.model_dump())
    session.add(user)
    await _commit(session, data.username)
    return user


async def update(*, session: AsyncSession, user: User, data: UserUpdate) -> User:
    """The user with the fields that `data` sets changed; a taken username is a 409."""
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(user, field, value)
    await _commit(session, data.username)
    await session.refresh(user)
    return user


async def delete(*, session: AsyncSession, user: User) -> None:
    """Removes the user."""
    await session.delete(user)
    await session.commit()


async def _commit(session: AsyncSession, username: str | None) -> None:
    try:
        await session.commit()
    except IntegrityError as error:
        await session.rollback()
        if "users_username_key" in str(error.orig):
            raise ApiError(409, f"username {username!r} is taken") from None
        raise
