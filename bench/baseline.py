"""The raw ASGI baseline of `make bench`: the greeting's JSON with no framework in between.

`python -m bench.baseline` serves it through `app.server.run`, with exactly the server and options
the api gets (granian or uvicorn, loop, http, workers, access log ...), so the two cannot drift
apart.
"""

from __future__ import annotations

from typing import Any

from app import server
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
    """The factory the server imports in each worker (the api is served from a factory too)."""
    return app


def main() -> None:
    server.run(get_settings(), TARGET)


if __name__ == "__main__":
    main()
