"""The dev stack under process-compose: the environment it needs, and up/down/status."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

from core.settings import DEFAULT_PORTS, ROOT, Settings
from scripts import postgres, redis_server
from scripts.launch import LaunchError, exec_command, tool_path
from scripts.ports import UNIX_SOCKET_MAX

CONFIG = ROOT / "process-compose.yaml"


def binary() -> str:
    found = shutil.which("process-compose", path=tool_path())
    if found is None:
        raise LaunchError(
            "process-compose not found: run 'make dev' (it installs it into .tools/bin) "
            "or install it (https://f1bonacc1.github.io/process-compose/installation/)"
        )
    return found


def environment(settings: Settings) -> dict[str, str]:
    """The caller's environment plus every resolved port and path the YAML refers to."""
    env = dict(os.environ)
    env["PATH"] = tool_path([postgres.bin_dir(settings)])
    env["STATE_DIR"] = str(settings.state_dir)
    env["PORT_OFFSET"] = str(settings.port_offset)
    # process-compose looks for its own config there; an empty one keeps it from logging the search.
    env["XDG_CONFIG_HOME"] = str(settings.state_dir / "process-compose" / "config")
    for name in DEFAULT_PORTS:
        env[name.upper()] = str(settings.port(name))
    # The effective Redis password (generated, or set), for the readiness probe's AUTH.
    env["REDIS_PASSWORD"] = settings.secret("redis_password") or ""
    env.update(tracing_environment(settings, env))  # part: logserver
    return env


# part: logserver
def tracing_environment(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """Tracing on, to the log server's OTLP receiver (logserver.receiver), unless the caller
    points OTLP elsewhere or sets TRACING=false; spans are sent every half second, so a trace
    is readable (`logserver trace`) right after its request."""
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in env or "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in env:
        return {}
    host = settings.logserver_host
    added = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{host}:{settings.port('logserver_port')}",
        "OTEL_BSP_SCHEDULE_DELAY": env.get("OTEL_BSP_SCHEDULE_DELAY", "500"),
    }
    token = settings.logserver_token_value
    if token:
        added["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer%20{token}"
    return added


# end part: logserver


def up_environment(settings: Settings, tui: bool) -> dict[str, str]:
    """The stack's environment: with the TUI, the dev echo in colour (LOG_COLOR=auto would see
    the pipes process-compose reads, not the terminal that shows them)."""
    env = environment(settings)
    if tui and settings.log_color == "auto":
        env["LOG_COLOR"] = "always"
    return env


def socket_path(settings: Settings) -> Path:
    return settings.run_dir / "process-compose.sock"


def server_args(settings: Settings) -> list[str]:
    """How to reach the stack's process-compose: its unix socket, or a loopback port if too long."""
    path = socket_path(settings)
    if len(os.fsencode(path)) <= UNIX_SOCKET_MAX:
        return ["--use-uds", "--unix-socket", str(path)]
    return ["--address", "127.0.0.1", "--port", str(settings.process_compose_port)]


def is_running(settings: Settings) -> bool:
    path = socket_path(settings)
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # left behind by a stack that did not stop cleanly
            return False
    return True


def up(settings: Settings, tui: bool | None = None) -> NoReturn:
    """Becomes process-compose running the stack (TUI on a terminal, plain logs otherwise)."""
    if is_running(settings):
        raise LaunchError(
            "the stack is already running: 'dev status' shows it, 'make down' stops it"
        )
    # State an older server wrote stops the stack here, in one line, rather than in a pane.
    postgres.check_version(postgres.Layout.of(settings))
    redis_server.check_data(settings.state_dir / "redis")
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log_dir = settings.state_dir / "process-compose"
    (log_dir / "config" / "process-compose").mkdir(parents=True, exist_ok=True)
    tui = sys.stdout.isatty() if tui is None else tui
    exec_command(
        [
            binary(),
            "up",
            "--config",
            str(CONFIG),
            *server_args(settings),
            "--log-file",
            str(log_dir / "process-compose.log"),
            "--disable-dotenv",
            "--ordered-shutdown",
            f"--tui={str(tui).lower()}",
        ],
        up_environment(settings, tui),
    )


def client(settings: Settings, *command: str) -> NoReturn:
    """Runs a process-compose client command (down, process list ...) against the stack."""
    if not is_running(settings):
        raise LaunchError("the stack is not running: start it with 'make dev'")
    exec_command([binary(), *command, *server_args(settings)], environment(settings))


def processes(settings: Settings) -> list[dict[str, Any]]:
    """`process-compose process list` of the running stack ([] while it does not answer)."""
    result = subprocess.run(
        [binary(), "process", "list", "--output", "json", *server_args(settings)],
        capture_output=True,
        text=True,
        check=False,
        env=environment(settings),
    )
    entries: list[dict[str, Any]] = json.loads(result.stdout) if result.returncode == 0 else []
    return entries


def all_ready(settings: Settings) -> bool:
    """Every process of the running stack ready (running, if it has no probe), every one-shot
    exited 0: what `dev up` waits for, and the bench and the stack test with it."""
    entries = processes(settings)
    return bool(entries) and all(ready(entry) for entry in entries)


def ready(entry: dict[str, Any]) -> bool:
    """Whether one entry of `processes` is ready (or, for a one-shot, exited 0)."""
    if entry.get("status") == "Completed":
        return entry.get("exit_code") == 0
    probed = entry.get("has_ready_probe", True)
    return entry.get("status") == "Running" and (not probed or entry.get("is_ready") == "Ready")
