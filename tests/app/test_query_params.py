"""A query parameter a handler reads itself (app.api.params) keeps the contract of one it
declares: the same value, the same 422 for a bad one, the same OpenAPI entry."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query, Request
from fastapi.testclient import TestClient

from app.api.params import QueryParameter, documented, read_all
from app.api.routes.benchmark import PAGE, PAGE_SIZE
from app.errors import install_error_handlers

pytestmark = pytest.mark.fast

# A string parameter too (the greeting's, which its handler declares).
NAME = QueryParameter("name", Annotated[str, Query(max_length=64)], default="World")


def _twins() -> FastAPI:
    """The list's parameters and a string one, declared and read."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/declared")
    async def declared(
        name: Annotated[str, Query(max_length=64)] = "World",
        page: Annotated[int, Query(ge=1, le=1_000_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, object]:
        return {"name": name, "page": page, "page_size": page_size}

    @app.get("/read", openapi_extra=documented(NAME, PAGE, PAGE_SIZE))
    async def read(request: Request) -> dict[str, object]:
        name, page, page_size = read_all(request, NAME, PAGE, PAGE_SIZE)
        return {"name": name, "page": page, "page_size": page_size}

    return app


QUERIES = [
    "",
    "name=Ada",
    "name=Ada&name=Grace",  # the last one, as FastAPI takes
    "name=",
    "name=" + "x" * 64,
    "name=" + "x" * 65,
    "name=%C3%A9t%C3%A9",
    "name=%FF",
    "page=3&page_size=7",
    "page_size=0",
    "page_size=101",
    "page_size=seven",
    "page_size=1.5",
    "page_size=+5",
    "page=1000000001",
    "page=-1&page_size=",
    "name=" + "x" * 65 + "&page=0&page_size=0",  # each error, in the order of declaration
]


@pytest.mark.parametrize("query", QUERIES)
def test_read_and_declared_parameters_answer_alike(query: str) -> None:
    with TestClient(_twins()) as client:
        declared = client.get(f"/declared?{query}")
        read = client.get(f"/read?{query}")
    assert (read.status_code, read.json()) == (declared.status_code, declared.json())


def test_read_and_declared_parameters_are_documented_alike() -> None:
    paths = _twins().openapi()["paths"]
    assert paths["/read"]["get"]["parameters"] == paths["/declared"]["get"]["parameters"]
