"""CRUD of users through the ORM: status codes and the one error shape."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ANN = {
    "username": "ann",
    "email": "ann@example.com",
    "age": 36,
    "mobile": "+44 1",
    "address": "1 Lovelace Road",
}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    return error


def test_create_read_update_delete(client: TestClient) -> None:
    created = client.post("/api/v1/users", json=ANN)
    assert created.status_code == 201
    user = created.json()
    assert {key: user[key] for key in ANN} == ANN
    assert user["created_at"] == user["updated_at"]

    assert client.get(f"/api/v1/users/{user['id']}").json() == user

    patched = client.patch(f"/api/v1/users/{user['id']}", json={"age": 37})
    assert patched.status_code == 200
    assert patched.json()["age"] == 37
    assert patched.json()["email"] == ANN["email"]
    assert patched.json()["updated_at"] > user["updated_at"]

    deleted = client.delete(f"/api/v1/users/{user['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(client.get(f"/api/v1/users/{user['id']}"), 404, "not_found")


def test_duplicate_username_is_a_conflict(client: TestClient) -> None:
    assert client.post("/api/v1/users", json=ANN).status_code == 201
    error = assert_error(client.post("/api/v1/users", json=ANN), 409, "conflict")
    assert "ann" in error["message"]


def test_renaming_onto_a_taken_username_is_a_conflict(client: TestClient) -> None:
    client.post("/api/v1/users", json=ANN)
    bob = client.post("/api/v1/users", json={"username": "bob", "email": "bob@example.com"})
    assert_error(
        client.patch(f"/api/v1/users/{bob.json()['id']}", json={"username": "ann"}), 409, "conflict"
    )
    assert client.get(f"/api/v1/users/{bob.json()['id']}").json()["username"] == "bob"


def test_unknown_ids_are_not_found(client: TestClient) -> None:
    assert_error(client.get("/api/v1/users/424242"), 404, "not_found")
    assert_error(client.patch("/api/v1/users/424242", json={"age": 1}), 404, "not_found")
    assert_error(client.delete("/api/v1/users/424242"), 404, "not_found")


def test_invalid_bodies_are_unprocessable(client: TestClient) -> None:
    for body in (
        {},
        {"username": "x"},
        {"username": "x", "email": "not-an-email"},
        {"username": "x", "email": "x@example.com", "age": -1},
        {"username": "has space", "email": "x@example.com"},
        {"username": "x", "email": "x@example.com", "unknown": 1},
    ):
        error = assert_error(client.post("/api/v1/users", json=body), 422, "invalid_request")
        assert error["details"], body
    malformed = client.post(
        "/api/v1/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(malformed, 422, "invalid_request")
    assert_error(client.get("/api/v1/users/not-a-number"), 422, "invalid_request")


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/v1/users/1", json=ANN), 405, "method_not_allowed")
