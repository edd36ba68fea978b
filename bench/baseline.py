"""The raw ASGI baseline of `make bench`: the greeting's JSON with no framework in between.

`python -m bench.baseline` serves it with exactly the uvicorn options the api gets from
`app.server.uvicorn_options` (loop, http, workers, access log, headers ...), so the two cannot
drift apart.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from app.server import uvicorn_options
from core.settings import get_settings

BODY = b'{"message":"Hello, World!"}'
TARGET = "bench.baseline:create_app"
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


def main() -> None:
    uvicorn.run(TARGET, **uvicorn_options(get_settings()))


if __name__ == "__main__":
    main()
