"""What the api shows strangers: no docs in production unless asked, security headers on every
answer, and 422 messages in the client's terms, not Python's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.settings import load_settings

DOCS = ("/docs", "/redoc", "/openapi.json")
PRODUCTION = {
    "environment": "production",
    "postgres_password": "p",
    "logserver_token": "t",  # part: logserver
}


def client(tmp_path: Path, **settings: object) -> Iterator[TestClient]:
    app = create_app(
        load_settings(
            state_dir=tmp_path,
            logserver_enabled=False,  # part: logserver
            debug="",
            **settings,
        )
    )
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def production(tmp_path: Path) -> Iterator[TestClient]:
    yield from client(tmp_path, **PRODUCTION)


def test_docs_are_404_in_production(production: TestClient) -> None:
    for path in DOCS:
        assert production.get(path).status_code == 404, path


def test_a_setting_turns_the_docs_on_in_production(tmp_path: Path) -> None:
    for test_client in client(tmp_path, api_docs=True, **PRODUCTION):
        assert [test_client.get(path).status_code for path in DOCS] == [200, 200, 200]


def test_every_answer_carries_the_security_headers(production: TestClient) -> None:
    for response in (production.get("/health"), production.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"name": "a", "age": ' + b"9" * 5000 + b"}", "a number has more than 4300 digits"),
        (b'{"name": "\xff"}', "it is not UTF-8 (byte 10)"),
    ],
)
def test_a_body_that_cannot_be_read_is_told_plainly(
    production: TestClient, body: bytes, said: str
) -> None:
    response = production.post(
        "/api/v1/users", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert message == f"the body could not be read as JSON: {said}"
    assert "sys." not in message and "codec" not in message
