"""What every launcher shares: clear one-line failures, free-port checks, and exec."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from core.settings import ROOT

TOOLS_BIN = ROOT / ".tools" / "bin"
UV_BIN = ROOT / ".tools" / "uv" / "bin"
VENV_BIN = ROOT / ".venv" / "bin"
UNIX_SOCKET_MAX = 107


class LaunchError(SystemExit):
    """A launcher cannot start its component: exits with one line saying why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")


def ensure_port_free(component: str, host: str, port: int) -> None:
    """Fails clearly when something already listens on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise LaunchError(
                f"{component}: cannot bind {host}:{port} ({error.strerror}); another process "
                f"(another checkout?) uses it: stop it, or set PORT_OFFSET or the port in .env"
            ) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_bound(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on host:port (a bind that would fail)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
        return False


def ensure_socket_path(component: str, path: Path) -> None:
    if len(os.fsencode(path)) > UNIX_SOCKET_MAX:
        raise LaunchError(
            f"{component}: unix socket path {path} is longer than {UNIX_SOCKET_MAX} bytes: "
            "set STATE_DIR to a shorter path"
        )


def tool_path(extra: Sequence[Path] = ()) -> str:
    """PATH with the project's own bin folders first."""
    folders = [str(VENV_BIN), str(TOOLS_BIN), str(UV_BIN), *map(str, extra)]
    return os.pathsep.join([*folders, os.environ.get("PATH", "")])


def exec_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> NoReturn:
    """Replaces this process with `argv`, so a supervisor's signals reach it directly."""
    print(f"--> {' '.join(argv)}", file=sys.stderr, flush=True)
    try:
        os.execvpe(argv[0], list(argv), dict(env if env is not None else os.environ))
    except OSError as error:
        raise LaunchError(f"cannot run {argv[0]}: {error.strerror}") from None
