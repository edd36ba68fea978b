"""Query parameters that a hot-path handler reads itself, to the same contract as declared ones.

FastAPI's solver spends about 10 µs per request on each query parameter a handler declares
(FastAPI 0.165: it looks up the field's model, aliases and sequence-ness on every request); read
here, the list's two took it from 1.47 to 1.68 the peer under the benchmark. A `QueryParameter`
reads the value from `request.query_params` (as FastAPI does: the last of repeated values),
validates it with the same pydantic constraints, answers a bad value with the same
RequestValidationError (a 422 with loc `["query", name]`), and puts the entry FastAPI would
generate into the operation's OpenAPI (`openapi_extra`). tests/app/test_query_params.py holds
both to a handler that declares the parameter.

Declare parameters in the signature everywhere else: this is for the few routes the benchmark
shows are worth it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class QueryParameter(Generic[T]):
    """An optional query parameter: `annotation` is the type with its `Query(...)` constraints,
    as a handler would declare it (`Annotated[str, Query(max_length=64)]`)."""

    def __init__(self, name: str, annotation: Any, default: T) -> None:
        self.name = name
        self.default = default
        self._adapter: TypeAdapter[T] = TypeAdapter(annotation)

    def validate(self, request: Request) -> tuple[T, list[dict[str, Any]]]:
        """The value, or the default with the errors of a bad one, located as FastAPI does."""
        raw = request.query_params.get(self.name)
        if raw is None:
            return self.default, []
        try:
            return self._adapter.validate_python(raw), []
        except ValidationError as error:
            location = ("query", self.name)
            errors = error.errors(include_url=False)
            return self.default, [{**e, "loc": (*location, *e["loc"])} for e in errors]

    def openapi(self) -> dict[str, Any]:
        """The operation's parameter object, as FastAPI generates it for a declared one."""
        schema = {
            **self._adapter.json_schema(),
            "default": self.default,
            "title": self.name.replace("_", " ").title(),
        }
        return {"name": self.name, "in": "query", "required": False, "schema": schema}


def read_all(request: Request, *parameters: QueryParameter[Any]) -> list[Any]:
    """Their values; the errors of every bad one, in this order, in one RequestValidationError
    (as FastAPI reports the parameters a handler declares)."""
    values, errors = [], []
    for parameter in parameters:
        value, problems = parameter.validate(request)
        values.append(value)
        errors += problems
    if errors:
        raise RequestValidationError(errors)
    return values


def documented(*parameters: QueryParameter[Any]) -> dict[str, Any]:
    """The route's `openapi_extra` that documents these parameters."""
    return {"parameters": [parameter.openapi() for parameter in parameters]}
