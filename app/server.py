"""Serving the API with uvicorn: auto-reload in dev, N worker processes in production."""

from __future__ import annotations

import uvicorn

from app.logging_setup import configure_logging
from app.settings import ROOT, Settings, get_settings

WATCHED = (ROOT / "app", ROOT / "sql")


def serve(settings: Settings) -> None:
    """Runs the API in the foreground until stopped."""
    reload = settings.api_reload and settings.environment == "dev"
    configure_logging("api", settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.port("api_port"),
        reload=reload,
        reload_dirs=[str(path) for path in WATCHED] if reload else None,
        reload_includes=["*.py", "*.sql"] if reload else None,
        workers=None if reload else settings.api_workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        server_header=False,
        log_config=None,  # uvicorn's loggers propagate to ours (app.logging_setup)
        access_log=False,  # app.middleware writes the access log
    )


def main() -> None:
    serve(get_settings())
