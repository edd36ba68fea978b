"""The three benchmark endpoints, on a real Postgres and Redis."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

from app.main import create_app
from scripts.isolated import IsolatedRun
from tests.support.processes import free_port


def create_users(client: TestClient, count: int) -> list[int]:
    ids = []
    for number in range(count):
        response = client.post(
            "/api/v1/users",
            json={"username": f"user{number:03}", "email": f"user{number}@example.com"},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_greeting_answers_without_io(session_run: IsolatedRun) -> None:
    """The greeting answers from an app whose Postgres and Redis ports have nothing behind
    them, where the endpoints that do I/O are 503s."""
    nowhere = session_run.settings.model_copy(
        update={"postgres_port": free_port(), "redis_port": free_port()}
    )
    with TestClient(create_app(nowhere), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/user/greeting")
        assert response.status_code == 200
        assert response.json() == {"message": "Hello, World!"}
        assert client.get("/api/v1/user/greeting", params={"name": "Ada"}).json() == {
            "message": "Hello, Ada!"
        }
        assert client.get("/api/v1/user/list").status_code == 503
        assert client.get("/api/v1/user/counter").status_code == 503


def test_list_pages_with_a_correct_total(client: TestClient) -> None:
    ids = create_users(client, 23)
    body = client.get("/api/v1/user/list", params={"page": 3, "page_size": 10}).json()
    assert body["total"] == 23
    assert body["pages"] == math.ceil(23 / 10)
    assert (body["page"], body["page_size"]) == (3, 10)
    assert [item["id"] for item in body["items"]] == ids[20:]
    assert set(body["items"][0]) == {
        "id",
        "username",
        "email",
        "age",
        "mobile",
        "address",
        "created_at",
        "updated_at",
    }


def test_list_default_page_and_empty_database(client: TestClient) -> None:
    body = client.get("/api/v1/user/list").json()
    assert body == {"items": [], "total": 0, "page": 1, "page_size": 10, "pages": 0}


def test_list_out_of_range_page_is_empty_not_an_error(client: TestClient) -> None:
    create_users(client, 3)
    response = client.get("/api/v1/user/list", params={"page": 1_000_000, "page_size": 100})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["total"] == 3


def test_list_bounds_page_size(client: TestClient) -> None:
    for bad in ({"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page": "x"}):
        response = client.get("/api/v1/user/list", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid_request"


def test_counter_counts(client: TestClient) -> None:
    values = [client.get("/api/v1/user/counter").json()["counter"] for _ in range(5)]
    assert values == [1, 2, 3, 4, 5]
