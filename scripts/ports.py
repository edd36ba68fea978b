"""Ports and socket paths a launcher checks before it starts a component."""

from __future__ import annotations

import functools
import os
import random
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


# free_port's ports start here and end below the range the kernel takes outgoing connections'
# source ports from: a port it picks from that range (bind to port 0) can become a connection's
# before the server it is for binds it, as a loaded machine showed (EADDRINUSE at a bench start).
LOWEST_FREE_PORT = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


@functools.cache
def ephemeral_floor() -> int:
    """The lowest port the kernel gives an outgoing connection (Linux: its setting; elsewhere
    IANA's dynamic range, which BSDs and macOS use)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing is bound to right now, below the kernel's range for outgoing
    connections and not handed out by this process before (the kernel's pick if that range
    leaves no room below it)."""
    candidates = range(LOWEST_FREE_PORT, ephemeral_floor())
    for port in random.sample(candidates, min(len(candidates), 100)):
        if port not in _handed_out and not port_is_bound(port, host, reuse_address=False):
            _handed_out.add(port)
            return port
    with socket.socket() as probe:
        probe.bind((host, 0))
        picked: int = probe.getsockname()[1]
        return picked


def port_is_bound(port: int, host: str = "127.0.0.1", *, reuse_address: bool = True) -> bool:
    """Whether something listens on host:port (a bind that would fail); without
    `reuse_address`, whether anything holds it (a connection's end, one in TIME_WAIT)."""
    with socket.socket() as probe:
        if reuse_address:
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
