"""Helpers the tests share: free ports, polling with a deadline, and supervised subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from scripts.bench_processes import Supervised
from scripts.launch import free_port, port_is_bound

__all__ = ["free_port", "port_is_bound"]


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pids_with_env(name: str, value: str) -> list[int]:
    """Processes whose environment has name=value (how a stack's processes are recognised)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


class ServiceProcess(Supervised):
    """A project process under test (the bench's supervisor: own process group, log file),
    stopped with SIGINT by default."""

    STOP_SIGNAL = signal.SIGINT


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
