"""Subprocesses under test: supervised (scripts.supervise, the bench's too), found by their
environment, and the addresses they listen on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

from core.settings import ROOT
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


class Orphaned:
    """`argv` started by a shell that stays until `leave()`, as process-compose starts a probe:
    after that `argv` runs on without the process that started it. Its stderr goes to `stderr`."""

    def __init__(self, argv: Sequence[str], stderr: Path) -> None:
        script = '"$@" </dev/null >/dev/null 2>"$0" & echo $!; read -r _'
        self.shell = subprocess.Popen(
            ["bash", "-c", script, str(stderr), *argv],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.shell.stdout is not None
        self.pid = int(self.shell.stdout.readline())

    def leave(self) -> None:
        assert self.shell.stdin is not None and self.shell.stdout is not None
        self.shell.stdin.close()
        self.shell.stdout.close()
        self.shell.wait(timeout=10)

    def ended(self) -> bool:
        """Whether `argv` ended (a zombie nobody reaped yet counts)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            return True
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
