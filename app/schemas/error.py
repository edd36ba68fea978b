"""The one error shape every error response has."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status code, repeated.")
    code: str = Field(description="A stable name for the kind of error, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for a person.")
    details: Any = Field(
        None, description="More about it when there is more: for a 422, one entry per problem."
    )


class ErrorResponse(BaseModel):
    error: ErrorBody
