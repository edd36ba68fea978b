"""Running one component of the stack in the foreground, with the project settings.

Python components run as `python -m <module>`, or under debugpy listening on the component's own
debug port (127.0.0.1 only) when asked to; debugpy follows the processes they spawn (uvicorn's
reloaded servers), so breakpoints still hit after a reload.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.settings import Settings
from scripts import postgres, redis_server
from scripts.launch import VENV_BIN, LaunchError, ensure_port_free, exec_command

DEBUG_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Debug:
    port: int
    wait: bool


def run_python(module: str, args: Sequence[str], debug: Debug | None) -> None:
    """Becomes `python -m module args`, under debugpy when `debug` is given."""
    if debug is None:
        exec_command([sys.executable, "-m", module, *args])
    ensure_port_free("debugpy", DEBUG_HOST, debug.port)
    wait = ["--wait-for-client"] if debug.wait else []
    exec_command(
        [sys.executable, "-X", "frozen_modules=off", "-m", "debugpy",
         "--listen", f"{DEBUG_HOST}:{debug.port}", *wait, "-m", module, *args],
        {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )


def run_api(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    ensure_port_free("api", settings.bind_host, settings.port("api_port"))
    run_python("app", args, debug)


def run_migrate(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    exec_command([str(VENV_BIN / "alembic"), "upgrade", "head", *args])


def _service(launch: Callable[[Settings, Sequence[str]], None]) -> Runner:
    def run(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
        launch(settings, args)

    return run


Runner = Callable[[Settings, Sequence[str], Debug | None], None]

RUNNERS: dict[str, Runner] = {
    "postgres": _service(postgres.launch),
    "redis": _service(redis_server.launch),
    "migrate": run_migrate,
    "api": run_api,
}


def run(settings: Settings, component: str, args: Sequence[str], debug: bool, wait: bool) -> None:
    """Runs `component`; under debugpy when asked here or by the DEBUG setting."""
    runner = RUNNERS.get(component)
    if runner is None:
        raise LaunchError(f"unknown component {component!r}; choose from {', '.join(RUNNERS)}")
    debug_options = None
    if debug or wait or component in settings.debug:
        port_name = f"debug_port_{component}"
        if not hasattr(settings, port_name):
            raise LaunchError(f"{component} cannot run under the debugger")
        debug_options = Debug(settings.port(port_name), wait)
    runner(settings, args, debug_options)
