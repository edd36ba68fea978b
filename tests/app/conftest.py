"""The api served by a real uvicorn on a free port, for tests that speak HTTP to it; the
generative test's seed in the report header."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uvicorn

from app.main import create_app
from core.settings import Settings
from scripts.supervise import wait_for
from tests.support.fuzz import EXAMPLES, REPLAY, SEED
from tests.support.processes import free_port
from tests.support.services import fresh_database


@pytest.fixture(scope="module")
def served_api(services: Settings, migrated_template: str) -> Iterator[str]:
    """The base URL of the app served by uvicorn (httptools, as in production) in a thread, on
    its own database for the module."""
    with fresh_database(services, migrated_template) as settings:
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=free_port(),
            http="httptools",
            log_config=None,
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="served-api")
        thread.start()
        try:
            wait_for(lambda: server.started or not thread.is_alive(), 30, "the api to start")
            assert server.started, "the api did not start (its log says why)"
            yield f"http://127.0.0.1:{config.port}"
        finally:
            server.should_exit = True
            thread.join(30)


def pytest_report_header() -> str:
    return f"api fuzz: {EXAMPLES} examples per operation and mode, seed {SEED} ({REPLAY})"
