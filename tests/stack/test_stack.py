"""The dev stack under the real process-compose: starts, serves, stops clean, restarts."""

from __future__ import annotations

import uuid

import httpx2 as httpx
import pytest

from core.settings import Settings
from tests.support.stack import start, stop

pytestmark = pytest.mark.stack


def exercise_api(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/api/v1/user/greeting").json() == {"message": "Hello, World!"}
        first = http.get("/api/v1/user/counter").json()["counter"]
        assert http.get("/api/v1/user/counter").json()["counter"] == first + 1
        created = http.post(
            "/api/v1/users", json={"username": f"u{uuid.uuid4().hex[:6]}", "email": "u@example.com"}
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        page = http.get("/api/v1/user/list", params={"page_size": 100}).json()
        assert user_id in [item["id"] for item in page["items"]]
        assert http.patch(f"/api/v1/users/{user_id}", json={"age": 9}).json()["age"] == 9
        assert http.delete(f"/api/v1/users/{user_id}").status_code == 204
        assert http.get(f"/api/v1/users/{user_id}").status_code == 404


def test_stack_serves_stops_clean_and_restarts_on_its_state(
    stack_settings: tuple[Settings, dict[str, str]],
) -> None:
    settings, overrides = stack_settings
    base = f"http://127.0.0.1:{settings.api_port}"
    pg_version = settings.state_dir / "postgres" / "PG_VERSION"

    up = start(settings, overrides, "first")
    try:
        exercise_api(base)
        with httpx.Client(base_url=base, timeout=10) as http:
            keeper = http.post("/api/v1/users", json={"username": "keeper", "email": "k@e.com"})
            counter = http.get("/api/v1/user/counter").json()["counter"]
        cluster = pg_version.stat()
    finally:
        stop(settings, up)

    again = start(settings, overrides, "second")
    try:
        assert (pg_version.stat().st_ino, pg_version.stat().st_mtime) == (
            cluster.st_ino,
            cluster.st_mtime,
        ), "the second start created a new cluster"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get(f"/api/v1/users/{keeper.json()['id']}").status_code == 200
            assert http.get("/api/v1/user/counter").json()["counter"] == counter + 1
        exercise_api(base)
    finally:
        stop(settings, again)
