"""Running one component of the stack in the foreground, with the project settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app import server
from app.settings import Settings
from scripts import postgres, redis_server
from scripts.launch import VENV_BIN, ensure_port_free, exec_command


def run_api(settings: Settings, extra_args: Sequence[str]) -> None:
    ensure_port_free("api", settings.bind_host, settings.port("api_port"))
    server.serve(settings)


def run_migrate(settings: Settings, extra_args: Sequence[str]) -> None:
    exec_command([str(VENV_BIN / "alembic"), "upgrade", "head", *extra_args])


Runner = Callable[[Settings, Sequence[str]], None]

RUNNERS: dict[str, Runner] = {
    "postgres": postgres.launch,
    "redis": redis_server.launch,
    "migrate": run_migrate,
    "api": run_api,
}
