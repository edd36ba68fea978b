"""API shapes of a user, separate from the ORM model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Age = Annotated[int, Field(ge=0, le=150)]
Mobile = Annotated[str, Field(max_length=32)]
Address = Annotated[str, Field(max_length=255)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    email: EmailStr
    age: Age | None = None
    mobile: Mobile | None = None
    address: Address | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username | None = None
    email: EmailStr | None = None
    age: Age | None = None
    mobile: Mobile | None = None
    address: Address | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    age: int | None
    mobile: str | None
    address: str | None
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    page: int
    page_size: int
    pages: int


class Greeting(BaseModel):
    message: str


class Counter(BaseModel):
    counter: int
