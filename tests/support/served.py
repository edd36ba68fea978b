"""The api served over HTTP by a real uvicorn (httptools, as in production) in a thread on a free
port, for tests that speak HTTP to it: the contract's fuzzer and generated clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.main import create_app
from core.settings import Settings
from scripts.supervise import wait_for
from tests.support.processes import free_port


@contextmanager
def served_api(settings: Settings) -> Iterator[str]:
    """The base URL of the app of `settings`, served until the block ends."""
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
