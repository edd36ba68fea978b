"""The project-local Redis: `redis-server` in the foreground, data and AOF under the state dir."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import NoReturn

from core.settings import Settings
from scripts.credentials import write_private
from scripts.launch import LaunchError, exec_command
from scripts.ports import ensure_port_free, ensure_socket_path


def launch(settings: Settings, extra_args: Sequence[str] = ()) -> NoReturn:
    server = shutil.which("redis-server")
    if server is None:
        raise LaunchError(
            "redis: redis-server not found on PATH: install it (apt-get install redis-server, "
            "or run 'make dev', which does) or use 'nix develop'"
        )
    data_dir = settings.state_dir / "redis"
    socket = settings.run_dir / "redis.sock"
    ensure_port_free("redis", settings.redis_host, settings.port("redis_port"))
    ensure_socket_path("redis", socket)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    exec_command(
        [
            server,
            *_password_config(settings),
            "--bind",
            settings.redis_host,
            "--port",
            str(settings.redis_port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            *extra_args,
        ]
    )


def _password_config(settings: Settings) -> list[str]:
    """A 0600 config file holding REDIS_PASSWORD (`requirepass`), so the password stays out of
    `ps`; none without a password."""
    password = settings.secret("redis_password")
    if password is None:
        return []
    path = settings.run_dir / "redis-auth.conf"
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    write_private(path, f'requirepass "{quoted}"\n')
    return [str(path)]
