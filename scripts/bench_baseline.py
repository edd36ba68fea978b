"""The raw ASGI baseline of `make bench`: the greeting's JSON with no framework in between.

`python -m scripts.bench_baseline` serves it with exactly the uvicorn options the api gets from
`app.server.serve` (loop, http, workers, access log, headers ...): those options are captured
from `serve` itself rather than copied, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import uvicorn

from app import server
from app.settings import get_settings

BODY = b'{"message":"Hello, World!"}'
TARGET = "scripts.bench_baseline:create_app"
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def create_app() -> Any:
    """The factory uvicorn imports in each worker (the api is served from a factory too)."""
    return app


def server_options() -> dict[str, Any]:
    """The keyword arguments `app.server.serve` passes to `uvicorn.run` with these settings."""
    captured: dict[str, Any] = {}

    def capture(target: str, **options: Any) -> None:
        captured.update(options)

    with mock.patch.object(uvicorn, "run", capture):
        server.serve(get_settings())
    return captured


def main() -> None:
    uvicorn.run(TARGET, **server_options())


if __name__ == "__main__":
    main()
