"""The access log: one record per request in the `access` stream, its request id echoed in the
response, and carried by the app's own records logged while serving the request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from core.logging import (
    configure_logging,
    direct_handler,  # part: logserver
    reset_logging,
)
from core.settings import Settings, load_settings
from logserver.client import LogServerHandler  # part: logserver
from logserver.reader import records  # part: logserver
from tests.support.groups import IMPORTS_THE_APP
from tests.support.logserver import InProcessLogServer  # part: logserver

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

# No server, no service: make test-fast runs it. The app is imported where it is used, so that
# collecting this module imports none (tests/support/groups.py).
pytestmark = [pytest.mark.fast, IMPORTS_THE_APP]


async def _work() -> dict[str, bool]:
    logging.getLogger("app.work").warning("working on it")
    return {"ok": True}


def _client(settings: Settings) -> TestClient:
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings)
    app.add_api_route("/test/work", _work)  # a handler that logs
    return TestClient(app)


# part: logserver
@pytest.fixture
def api_settings(tmp_path: Path, logserver: InProcessLogServer) -> Iterator[Settings]:
    yield load_settings(
        environment="test",
        state_dir=tmp_path / "state",
        logserver_enabled=True,
        logserver_host="127.0.0.1",
        logserver_port=logserver.port,
        logserver_token=None,
        log_level="INFO",
        debug="",
    )
    reset_logging()


@contextmanager
def _without_pytest_capture() -> Iterator[None]:
    """The root logger's handlers as in production: pytest's own (its log capture, added for
    each test phase) taken off, so that access records go the direct way
    (core.logging.direct_handler)."""
    root = logging.getLogger()
    # Only pytest's: others there are the app's, which configure_logging replaces and removes.
    pytest_handlers = [h for h in root.handlers if type(h).__module__.startswith("_pytest.")]
    for handler in pytest_handlers:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in pytest_handlers:
            root.addHandler(handler)


def test_one_access_record_per_request_with_the_request_id(
    api_settings: Settings, logserver: InProcessLogServer
) -> None:
    with _without_pytest_capture(), _client(api_settings) as client:
        handler = configure_logging("api", api_settings)
        # As in production: access records go the direct way (LogServerHandler.emit_fields).
        assert direct_handler(logging.getLogger("app.access")) is handler
        greeting = client.get("/api/v1/user/greeting", params={"name": "Ada"})
        work = client.get("/test/work", headers={"X-Request-ID": "from-the-client-1"})
        forged = client.get("/test/work", headers={"X-Request-ID": "not valid; id"})
    assert isinstance(handler, LogServerHandler) and handler.wait_delivered(10)

    rid = greeting.headers["x-request-id"]
    assert greeting.status_code == 200 and len(rid) == 32
    assert work.headers["x-request-id"] == "from-the-client-1"
    assert forged.headers["x-request-id"] != "not valid; id"
    access = list(records(logserver.base, ["access"]))
    assert [doc["request_id"] for doc in access] == [
        rid,
        "from-the-client-1",
        forged.headers["x-request-id"],
    ]
    first = access[0]
    assert {
        k: first[k]
        for k in ("component", "method", "path", "route", "status", "client", "user_agent", "level")
    } == {
        "component": "api",
        "method": "GET",
        "path": "/api/v1/user/greeting",
        "route": "/api/v1/user/greeting",
        "status": 200,
        "client": "testclient",
        "user_agent": "testclient",
        "level": "INFO",
    }
    assert 0 < first["duration_ms"] < 10_000
    app_records = [doc for doc in records(logserver.base, ["app"]) if doc["logger"] == "app.work"]
    assert [(doc["message"], doc["request_id"]) for doc in app_records] == [
        ("working on it", "from-the-client-1"),
        ("working on it", forged.headers["x-request-id"]),
    ]


# end part: logserver


def test_without_the_log_server_records_go_to_stderr_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        environment="test",
        state_dir=tmp_path,
        logserver_enabled=False,  # part: logserver
        log_level="INFO",
        debug="",
    )
    try:
        with _client(settings) as client:
            response = client.get("/test/work")
    finally:
        reset_logging()
    docs = [
        orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    rid = response.headers["x-request-id"]
    assert [(doc["stream"], doc["request_id"]) for doc in docs if doc.get("request_id")] == [
        ("app", rid),
        ("access", rid),
    ]
