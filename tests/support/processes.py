"""Subprocesses under test: supervised (scripts.supervise, the bench's too), found by their
environment, and the addresses they listen on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from scripts.ports import free_port, port_is_bound
from scripts.supervise import Supervised, group_command_lines, processes_with_env, wait_for
from tests.support.paths import DEV

__all__ = ["free_port", "group_command_lines", "port_is_bound", "processes_with_env", "wait_for"]


class ServiceProcess(Supervised):
    """A project process under test (own process group, log file), stopped with SIGINT by
    default."""

    STOP_SIGNAL = signal.SIGINT


def run_dev(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`dev *args` to its end, in this environment plus `env`; its output captured, wide (no
    wrapping), its exit status left for the test to check."""
    return subprocess.run(
        [DEV, *args],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listening_addresses(port: int) -> list[str]:
    """The local addresses with a TCP listener on `port` (read from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                # The kernel writes each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.append(
                    socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words)
                )
    return found
