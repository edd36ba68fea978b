"""The project-local Redis-compatible server: the lock's `valkey-server` (scripts/servers.py) in
the foreground, data and AOF under the state dir. The component keeps the name of its role."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core.settings import Settings
from scripts import servers
from scripts.credentials import write_private
from scripts.launch import LaunchError, exec_command
from scripts.ports import ensure_port_free, ensure_socket_path

# The RDB format versions Valkey 9 loads: Redis up to 7.2 wrote 11 at most; Redis 7.4 and later
# write 12 and up, which Valkey refuses (and would stop on).
READABLE_RDB_VERSION = 11


def check_data(data_dir: Path) -> None:
    """Refuses data a newer Redis wrote, before the server sees it (nothing on disk changes)."""
    if not data_dir.exists():
        return
    for snapshot in [*data_dir.glob("*.rdb"), *data_dir.glob("appendonlydir/*.rdb")]:
        header = snapshot.read_bytes()[:9]
        if header[:5] in (b"REDIS", b"VALKE") and header[5:].isdigit():
            version = int(header[5:])
            if header[:5] == b"REDIS" and version > READABLE_RDB_VERSION:
                raise LaunchError(
                    f"redis: {snapshot} was written by Redis 7.4 or later (RDB format {version}), "
                    f"which Valkey {servers.VALKEY_MAJOR} cannot read: it is left as it is. Keep "
                    "the data with that Redis (e.g. redis-cli --rdb) or drop it: 'make clean-state'"
                )


def launch(settings: Settings, extra_args: Sequence[str] = ()) -> NoReturn:
    server = servers.valkey_server(settings)
    servers.check_major("redis", server, servers.VALKEY_MAJOR)
    data_dir = settings.state_dir / "redis"
    socket = settings.run_dir / "redis.sock"
    check_data(data_dir)
    ensure_port_free("redis", settings.redis_host, settings.port("redis_port"))
    ensure_socket_path("redis", socket)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    exec_command(
        [
            str(server),
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
