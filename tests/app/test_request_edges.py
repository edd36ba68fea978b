"""Requests at the edges: bodies over the limit, bodies that are not JSON, extreme pages."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from app.db.queries import load_queries
from core.settings import Settings
from tests.support.services import fetch

LIMIT = 1024 * 1024  # API_MAX_BODY_BYTES's default
USER = {"username": "ann", "email": "ann@example.com"}


def test_a_body_over_the_limit_is_a_413_and_stores_nothing(client: TestClient) -> None:
    big = {**USER, "address": "x" * (2 * LIMIT)}
    response = client.post("/api/v1/users", json=big)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "content_too_large"
    assert str(LIMIT) in response.json()["error"]["message"]
    assert client.get("/api/v1/user/list").json()["total"] == 0


def test_a_chunked_body_is_cut_off_once_past_the_limit(served_api: str) -> None:
    """Over real HTTP: a chunked body (no Content-Length) gets its 413 once the chunks received
    pass the limit, while the client still holds the rest of the body: the test sends just past
    the limit, never the last chunk, and waits for the answer."""
    address = urlsplit(served_api)
    chunk = b" " * 65536
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(
            b"POST /api/v1/users HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for _ in range(LIMIT // len(chunk) + 1):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # The body's end (the zero-size chunk) is never sent: a server that read the body whole
        # before judging it would leave this read to time out.
        response = http.client.HTTPResponse(connection)
        response.begin()
        body = response.read()
    assert response.status == 413, body
    assert json.loads(body)["error"]["code"] == "content_too_large"


def test_the_413_comes_before_the_body_is_sent(served_api: str) -> None:
    """Over real HTTP: the server answers the headers alone, without waiting for the body."""
    address = urlsplit(served_api)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/users HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % (2 * LIMIT)
        )
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer


def test_a_body_at_the_limit_is_read(client: TestClient) -> None:
    body = b'{"username": "ann", "email": "ann@example.com"}'
    padded = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    response = client.post(
        "/api/v1/users", content=padded, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


def test_a_body_not_declared_json_is_a_415(client: TestClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = client.post("/api/v1/users", content=b'{"username": "x"}', headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"
    patched = client.patch(
        "/api/v1/users/1", content=b"age=3", headers={"content-type": "text/plain"}
    )
    assert patched.status_code == 415, patched.text
    vendor_json = client.post(
        "/api/v1/users", json=USER, headers={"content-type": "application/vnd.x+json"}
    )
    assert vendor_json.status_code == 201, vendor_json.text


def test_a_body_that_is_not_utf8_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users", content=b"\xff\xfe{}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_nulling_a_not_null_field_names_it(client: TestClient) -> None:
    user = client.post("/api/v1/users", json=USER).json()
    for field in ("email", "username"):
        response = client.patch(f"/api/v1/users/{user['id']}", json={field: None})
        assert response.status_code == 422, response.text
        assert f"{field} cannot be null" in response.json()["error"]["message"]
    assert client.get(f"/api/v1/users/{user['id']}").json() == user


def test_a_page_past_the_end_reads_no_rows(settings: Settings) -> None:
    """The plan of the list query for the largest page: the users are never scanned for it,
    only counted."""
    queries = load_queries()
    query = queries.list_users_page.sql
    arguments = queries.driver_adapter.maybe_order_params(
        "list_users_page", {"limit": 100, "offset": 99_999_999_900}
    )

    fetch(
        settings,
        "insert into users (username, email)"
        " select 'u' || n, 'u' || n || '@example.com' from generate_series(1, 500) n",
    )
    rows = fetch(settings, f"explain (analyze, costs off) {query}", *arguments)
    text = "\n".join(row[0] for row in rows)
    lines = text.splitlines()
    gate = next(number for number, line in enumerate(lines) if "One-Time Filter" in line)
    assert "never executed" in lines[gate + 1], text
