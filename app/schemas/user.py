"""API shapes of a user, separate from the ORM model.

Every bound here holds the table's too (NOT NULL, column lengths, the check on age): a value the
schema accepts, the database stores. tests/app/test_write_constraints.py derives those bounds from
the migrated schema and checks them, so a new column cannot slip past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)

from core.validators import JSON_INTEGER

# Postgres text cannot hold NUL: free text refuses it rather than failing in the database.
PLAIN_TEXT = r"^[^\x00]*$"

Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Email = Annotated[
    EmailStr,
    Field(
        max_length=254,
        description="An address as email-validator takes it: special-use domains such as "
        "`.test`, `.local` or `localhost` are refused.",
    ),
]
Age = Annotated[int, Field(ge=0, le=150), JSON_INTEGER]
Mobile = Annotated[str, Field(max_length=32, pattern=PLAIN_TEXT)]
Address = Annotated[str, Field(max_length=255, pattern=PLAIN_TEXT)]


def _unset_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


# A PATCH field that may be left out but never set to null: left out, it stays unset (the update
# applies `model_dump(exclude_unset=True)`), and the schema says "string", not "string or null".
LEAVE_OUT: Any = Field(default=None, json_schema_extra=_unset_default)


# Strict: JSON's false is not the age 0, nor "5" the integer 5.
class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    username: Username
    email: Email
    age: Age | None = None
    mobile: Mobile | None = None
    address: Address | None = None


class UserUpdate(BaseModel):
    """The fields to change; a field the table holds NOT NULL may be left out, not nulled."""

    model_config = ConfigDict(extra="forbid", strict=True)

    username: Username = LEAVE_OUT
    email: Email = LEAVE_OUT
    age: Age | None = None
    mobile: Mobile | None = None
    address: Address | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name
        if value is None and name and type(None) not in get_args(cls.model_fields[name].annotation):
            raise ValueError(f"{name} cannot be null")
        return value


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
