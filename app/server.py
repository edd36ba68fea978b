"""Serving the API: uvicorn with auto-reload in dev, granian or uvicorn (API_SERVER) with N worker
processes in production."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from app import reloader
from core.components import by_name
from core.logging import announce, configure_logging
from core.settings import ROOT, Settings, get_settings
from core.tracing import import_before_fork

TARGET = "app.main:create_app"
WATCHED = tuple(ROOT / folder for folder in by_name("api").watched)
# granian's own loggers hand their records to ours (core.logging) instead of stdout.
# Incremental: a full dictConfig would close the handlers already installed, ours included.
GRANIAN_LOGGING = {
    "version": 1,
    "incremental": True,
    "handlers": {},
    "loggers": {"_granian": {"propagate": True}, "granian.access": {"propagate": True}},
}


# Below compose's stop_grace_period (30 s) for the api, so that granian exits on its own.
WORKER_KILL_SECONDS = 10


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.run` for these settings (the bench's baseline app is
    served with the same)."""
    reload = reloads(settings)
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


def granian_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `granian.Granian` for these settings (the baseline's too)."""
    from granian.constants import HTTPModes, Interfaces, Loops

    return {
        "factory": True,
        "address": settings.bind_host,
        "port": settings.port("api_port"),
        "interface": Interfaces.ASGI,
        "workers": settings.api_workers,
        "loop": Loops.uvloop,
        "http": HTTPModes.http1,
        "websockets": False,
        "log_dictconfig": GRANIAN_LOGGING,
        "log_access": False,  # app.middleware writes the access log
        "respawn_failed_workers": True,  # as uvicorn's supervisor does with a worker that died
        # A worker that has not stopped this long after SIGTERM is killed: one still starting
        # when the signal came ignored it, and granian waited for it forever.
        "workers_kill_timeout": WORKER_KILL_SECONDS,
    }


def reloads(settings: Settings) -> bool:
    return settings.api_reload and settings.environment == "dev"


def server_name(settings: Settings) -> str:
    """The server that runs: the dev reloader and the debugger always get uvicorn."""
    return "uvicorn" if reloads(settings) or "debugpy" in sys.modules else settings.api_server


def serve(settings: Settings) -> None:
    """Runs the API in the foreground until stopped."""
    configure_logging("api", settings)
    *others, last = (f"{path.name}/" for path in WATCHED)
    watching = f"{', '.join(others)} and {last}" if others else last
    reloading = f", reloading on changes to {watching}" if reloads(settings) else ""
    address = f"http://{settings.bind_host}:{settings.port('api_port')}"
    served = f"served by {server_name(settings)}"
    announce("api", f"{address} (docs at /docs), {served}{reloading}")
    import_before_fork(settings)
    run(settings, TARGET)


def run(settings: Settings, target: str) -> None:
    """Serves the ASGI app factory `target` with the server and options these settings choose
    (the bench serves its raw baseline through this too)."""
    if server_name(settings) == "granian":
        from granian import Granian

        Granian(target, **granian_options(settings)).serve()
        return
    options = uvicorn_options(settings)
    if options["reload"] and "debugpy" not in sys.modules:
        # Servers forked from a reloader that holds the libraries (app/reloader.py).
        reloader.run(uvicorn.Config(target, **options), settings.run_dir / "api-libraries.txt")
    else:
        uvicorn.run(target, **options)


def main() -> None:
    serve(get_settings())
