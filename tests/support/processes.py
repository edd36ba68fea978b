"""Subprocesses under test: supervised (scripts.supervise, the bench's too), found by their
environment, and the addresses they listen on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from core.settings import ROOT
from scripts.ports import free_port, port_is_bound
from scripts.supervise import (
    Supervised,
    alive,
    group_command_lines,
    processes_with_env,
    wait_for,
)
from tests.support.paths import DEV

__all__ = [
    "alive",
    "free_port",
    "group_command_lines",
    "port_is_bound",
    "processes_with_env",
    "wait_for",
]


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


def stderr_of_an_orphaned_probe(
    argv: Callable[[str], Sequence[str]], stderr: Path, timeout: float
) -> tuple[str, str]:
    """(PORT, stderr) of the probe `argv(PORT)`, started by a shell as process-compose starts one,
    against a listener on PORT that closes each connection: once the probe's first try reaches it
    (the probe is in its loop, its parent known), the shell and the listener go and the probe runs
    on alone, its tries refused at once. It must end within `timeout`."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = str(listener.getsockname()[1])
        script = '"$@" </dev/null >/dev/null 2>"$0" & echo $!; read -r _'
        shell = subprocess.Popen(
            ["bash", "-c", script, str(stderr), *argv(port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert shell.stdout is not None
        pid = int(shell.stdout.readline())
        listener.accept()[0].close()
    shell.communicate(timeout=10)  # its stdin closed, the shell ends
    wait_for(lambda: not alive(pid), timeout, "the probe to stop waiting")
    return port, stderr.read_text()
