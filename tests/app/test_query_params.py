"""A query parameter a handler reads itself (app.api.params) keeps the contract of one it
declares: the same value, the same 422 for a bad one, the same OpenAPI entry."""

# No `from __future__ import annotations`: the handlers are defined in a fixture, and FastAPI
# reads their annotations (`Query` among them) from the module's globals unless they are objects.

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import pytest

from tests.support.groups import IMPORTS_THE_APP

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

pytestmark = [pytest.mark.fast, IMPORTS_THE_APP]


@pytest.fixture(scope="module")
def twins() -> "FastAPI":
    """The list's parameters and a string one (the greeting's, which its handler declares),
    declared and read. The app is imported here, so that collecting this module imports none
    (tests/support/groups.py)."""
    from fastapi import FastAPI, Query, Request

    from app.api.params import QueryParameter, documented, read_all
    from app.api.routes.benchmark import PAGE, PAGE_SIZE
    from app.errors import install_error_handlers

    name_parameter = QueryParameter("name", Annotated[str, Query(max_length=64)], default="World")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/declared")
    async def declared(
        name: Annotated[str, Query(max_length=64)] = "World",
        page: Annotated[int, Query(ge=1, le=1_000_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, object]:
        return {"name": name, "page": page, "page_size": page_size}

    @app.get("/read", openapi_extra=documented(name_parameter, PAGE, PAGE_SIZE))
    async def read(request: Request) -> dict[str, object]:
        name, page, page_size = read_all(request, name_parameter, PAGE, PAGE_SIZE)
        return {"name": name, "page": page, "page_size": page_size}

    return app


@pytest.fixture(scope="module")
def twins_client(twins: "FastAPI") -> Iterator["TestClient"]:
    from fastapi.testclient import TestClient

    with TestClient(twins) as client:
        yield client


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
def test_read_and_declared_parameters_answer_alike(twins_client: "TestClient", query: str) -> None:
    declared = twins_client.get(f"/declared?{query}")
    read = twins_client.get(f"/read?{query}")
    assert (read.status_code, read.json()) == (declared.status_code, declared.json())


def test_read_and_declared_parameters_are_documented_alike(twins: "FastAPI") -> None:
    paths = twins.openapi()["paths"]
    assert paths["/read"]["get"]["parameters"] == paths["/declared"]["get"]["parameters"]
