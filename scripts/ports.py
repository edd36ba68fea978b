"""Ports and socket paths a launcher checks before it starts a component."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from scripts.launch import LaunchError

UNIX_SOCKET_MAX = 107


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
