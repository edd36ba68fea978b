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

from core.components import COMPONENTS, by_name
from core.settings import ROOT, Settings
from scripts import db, postgres, redis_server
from scripts.launch import LaunchError, exec_command
from scripts.ports import ensure_port_free
from worker import node_name  # part: background

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
        [
            sys.executable,
            "-X",
            "frozen_modules=off",
            "-m",
            "debugpy",
            "--listen",
            f"{DEBUG_HOST}:{debug.port}",
            *wait,
            "-m",
            module,
            *args,
        ],
        {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )


def run_api(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    ensure_port_free("api", settings.bind_host, settings.port("api_port"))
    run_python("app", args, debug)


def run_migrate(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    db.upgrade_to_head(settings, list(args))


# part: background
# The Celery components run as `python -m worker <celery command>` (the project's Celery app).
# In dev, worker and beat run under the reloader of worker/reloader.py (restarted on an edit and
# when they die), in this process: it holds the libraries, and forks each Celery process.


def run_celery(
    settings: Settings, component: str, argv: Sequence[str], debug: Debug | None
) -> None:
    if settings.environment != "dev":
        run_python("worker", argv, debug)
    elif debug is not None:
        run_python("worker.reloader", argv, debug)  # debugpy follows its forks
    else:
        from worker import reloader  # here: watchfiles would slow every other `dev run`

        watched = [ROOT / folder for folder in by_name(component).watched]
        reloader.run(settings, argv, watched)


def dev_pool(settings: Settings, debug: Debug | None) -> list[str]:
    """The pool, unless args choose another: the solo pool under the debugger (one process, so
    breakpoints in tasks hit); in dev, threads, which start and stop in a fraction of prefork's
    time (billiard sleeps on the way out) and die whole with a `kill -9`; else prefork."""
    if debug is not None:
        return ["--pool", "solo"]
    return ["--pool", "threads"] if settings.environment == "dev" else []


def run_worker(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    """The worker; restarted on changes under worker/, app/ and core/ in dev, in the solo pool
    (one process, so breakpoints in tasks hit) under the debugger. Extra args go to
    `celery worker`."""
    argv = [
        "worker",
        "--hostname",
        node_name(),
        "--loglevel",
        settings.log_level,
        "--without-mingle",
        "--without-gossip",
        *dev_pool(settings, debug),
        *args,
    ]
    run_celery(settings, "worker", argv, debug)


def run_beat(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    """Beat; its schedule file is in the state dir, and its pid file keeps a second one out.
    Restarted on changes under worker/ and core/ in dev."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    pidfile = settings.run_dir / "beat.pid"
    argv = ["beat", "--pidfile", str(pidfile), "--loglevel", settings.log_level, *args]
    run_celery(settings, "beat", argv, debug)


# part: flower
def run_flower(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    """Flower, as production starts it (`python -m worker flower`: worker/flower.py)."""
    ensure_port_free("flower", settings.bind_host, settings.port("flower_port"))
    run_python("worker", ["flower", *args], debug)
    # end part: flower
    # end part: background


# part: logserver
def run_logserver(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
    """The log server (`python -m logserver serve`), given the project settings as its flags (it
    reads no settings of its own); extra args are more flags (--port, --dir ...), which win."""
    if "--port" not in args:
        ensure_port_free("logserver", settings.logserver_host, settings.port("logserver_port"))
    flags = [
        *("--host", settings.logserver_host),
        *("--port", str(settings.port("logserver_port"))),
        *("--dir", str(settings.logs_dir)),
        *("--rotate-bytes", str(settings.log_rotate_bytes)),
        *("--retention-days", str(settings.log_retention_days)),
        *("--idle-seconds", str(settings.logserver_idle_seconds)),
        *("--max-connections", str(settings.logserver_max_connections)),
        *("--max-senders", str(settings.logserver_max_senders)),
        *("--log-level", settings.log_level),
        # Its own records: readable in its pane with the dev echo on, JSON lines otherwise.
        *("--log-format", "text" if settings.log_echo else "json"),
        *("--color", settings.log_color),
    ]
    token = settings.logserver_token_value
    if token is None and settings.environment == "dev":
        raise LaunchError(
            "logserver: LOGSERVER_TOKEN is empty, and the dev log server requires one: unset it "
            "to use the generated one (STATE_DIR/secrets/logserver_token)"
        )
    # The token by the environment, so that it stays out of `ps`.
    os.environ["LOGSERVER_TOKEN"] = token or ""
    run_python("logserver", ["serve", *flags, *args], debug)


# end part: logserver


def _service(launch: Callable[[Settings, Sequence[str]], None]) -> Runner:
    def run(settings: Settings, args: Sequence[str], debug: Debug | None) -> None:
        launch(settings, args)

    return run


Runner = Callable[[Settings, Sequence[str], Debug | None], None]

# How `dev run` runs each component of the table (core/components.py), in the table's order.
_RUNNERS: dict[str, Runner] = {
    "postgres": _service(postgres.launch),
    "redis": _service(redis_server.launch),
    "migrate": run_migrate,
    "api": run_api,
    "worker": run_worker,  # part: background
    "beat": run_beat,  # part: background
    "flower": run_flower,  # part: flower
    "logserver": run_logserver,  # part: logserver
}
RUNNERS: dict[str, Runner] = {component.name: _RUNNERS[component.name] for component in COMPONENTS}


def run(settings: Settings, component: str, args: Sequence[str], debug: bool, wait: bool) -> None:
    """Runs `component`; under debugpy when asked here or by the DEBUG setting."""
    runner = RUNNERS.get(component)
    if runner is None:
        raise LaunchError(f"unknown component {component!r}; choose from {', '.join(RUNNERS)}")
    debug_options = None
    if debug or wait or component in settings.debug:
        port_name = by_name(component).debug_port_setting
        if port_name is None:
            raise LaunchError(f"{component} cannot run under the debugger")
        debug_options = Debug(settings.port(port_name), wait)
    runner(settings, args, debug_options)
