"""The dev stack under the real process-compose: starts, serves, stops clean, restarts."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from core.settings import Settings
from tests.support.stack import exercise_api, start, stop

pytestmark = pytest.mark.stack


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
