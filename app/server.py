"""Serving the API with uvicorn: auto-reload in dev, N worker processes in production."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from app import reloader
from core.logging import configure_logging
from core.settings import ROOT, Settings, get_settings

TARGET = "app.main:create_app"
WATCHED = (ROOT / "app", ROOT / "sql")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.run` for these settings (the bench's baseline app is
    served with the same)."""
    reload = settings.api_reload and settings.environment == "dev"
    return {
        "factory": True,
        "host": settings.bind_host,
        "port": settings.port("api_port"),
        "reload": reload,
        "reload_dirs": [str(path) for path in WATCHED] if reload else None,
        "reload_includes": ["*.py", "*.sql"] if reload else None,
        "workers": None if reload else settings.api_workers,
        "loop": "uvloop",
        "http": "httptools",
        "proxy_headers": True,
        "server_header": False,
        "log_config": None,  # uvicorn's loggers propagate to ours (core.logging)
        "access_log": False,  # app.middleware writes the access log
    }


def serve(settings: Settings) -> None:
    """Runs the API in the foreground until stopped."""
    configure_logging("api", settings)
    options = uvicorn_options(settings)
    if options["reload"] and "debugpy" not in sys.modules:
        # Servers forked from a reloader that holds the libraries (app/reloader.py).
        reloader.run(uvicorn.Config(TARGET, **options), settings.run_dir / "api-libraries.txt")
    else:
        uvicorn.run(TARGET, **options)


def main() -> None:
    serve(get_settings())
