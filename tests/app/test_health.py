"""Liveness and readiness, including a storage service that is down."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from core.settings import Settings
from tests.support.processes import free_port


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_ready_names_the_service_that_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_port": free_port()})
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        error = ready.json()["error"]
        assert "redis" in error["message"] and "postgres" not in error["message"]
        assert error["details"]["postgres"] == "ok"
        counter = client.get("/api/v1/user/counter")
        assert counter.status_code == 503
        assert counter.json()["error"]["code"] == "service_unavailable"
        assert client.get("/api/v1/user/greeting").status_code == 200
