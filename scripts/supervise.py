"""Supervising the processes a bench or a test starts (scripts/probes.py says whether they answer).

Each runs in its own process group with its output in a log file, and is stopped for sure (the
whole group) on the way out, so that no process or port outlives the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

from scripts.launch import LaunchError
from scripts.ports import port_is_bound

HOST = "127.0.0.1"  # every process a bench or a test starts binds loopback


class SupervisionError(LaunchError):
    """A supervised process died or did not get ready in time: one line saying why (and where
    its log is)."""


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> float:
    """Polls `condition` until it holds; returns the seconds it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise SupervisionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - began


class Supervised:
    """A long-running subprocess, leader of its own process group, stopped group and all."""

    STOP_SIGNAL: int = signal.SIGTERM  # unless `stop_signal` says otherwise

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        stop_signal: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.stop_signal = self.STOP_SIGNAL if stop_signal is None else stop_signal
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_until(
        self, condition: Callable[[], bool], timeout: float, what: str = "to be ready"
    ) -> float:
        """Polls `condition` while the process lives; fails with its log's tail if it dies."""

        def ready_or_dead() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SupervisionError(
                    f"{self.name} exited with {self.process.returncode} before "
                    f"{what}; its log ({self.log_path}) ends:\n{self.tail()}"
                )
            return condition()

        return wait_for(ready_or_dead, timeout, f"{self.name}: {what} (log: {self.log_path})")

    def stop(self, timeout: float = 30) -> int | None:
        """Signals the leader, waits, then kills whatever is left of its group; the leader's
        exit status (None if it never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"--> {self.name} did not stop within {timeout:.0f}s: killing it", flush=True)
        self._kill_group()
        return self.process.wait()

    def _kill_group(self) -> None:
        # Leftovers (uvicorn workers, postgres backends) share the leader's process group id.
        deadline = time.monotonic() + 10
        while group_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if group_alive(self.pid):
            print(f"--> {self.name}: killing the processes left in its group", flush=True)
            os.killpg(self.pid, signal.SIGKILL)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def group_alive(pgid: int) -> bool:
    """Whether a process group still has a live (not zombie) member."""
    return any(fields[2] == str(pgid) and fields[0] != "Z" for fields in _stats().values())


def group_command_lines(pgid: int) -> list[list[str]]:
    """The command lines (argv) of the live members of process group `pgid`."""
    live = _stats().items()
    members = (pid for pid, fields in live if fields[2] == str(pgid) and fields[0] != "Z")
    return [argv for argv in map(command_line, members) if argv is not None]


def command_line(pid: int) -> list[str] | None:
    """The argv of process `pid`, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    """Whether process `pid` is alive: there, and not a zombie nobody reaped yet."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _stats() -> dict[int, list[str]]:
    """Per live pid, the fields of /proc/PID/stat after the command name: state, ppid, pgrp ..."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = fields
    return found


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None once it is gone."""
    try:
        # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def run_checked(
    argv: Sequence[str],
    env: Mapping[str, str],
    what: str,
    cwd: Path | None = None,
    timeout: float = 120,
) -> str:
    """Runs a one-shot command; fails with its output's tail when it does."""
    result = subprocess.run(
        list(argv),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise SupervisionError(f"{what} failed ({result.returncode}):\n{tail}")
    return result.stdout


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment has name=value: how a run's leftovers are found."""
    needle = f"{name}={value}".encode()
    found = []
    for pid, fields in _stats().items():
        if pid == os.getpid() or fields[0] == "Z":
            continue
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(pid)
        except OSError:
            continue
    return found


def server_pids(reloader: int) -> set[int]:
    """The uvicorn server processes the reloader `reloader` runs: its children, forked
    (app/reloader.py) or spawned (uvicorn's, under the debugger), but not multiprocessing's
    resource tracker."""
    return {
        pid
        for pid, (parent, command) in _process_table().items()
        if parent == reloader and b"resource_tracker" not in command
    }


def descendants(root: int) -> set[int]:
    """Every process under `root` (its children, theirs ...)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, pending = set(), list(children.get(root, []))
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        found.add(pid)
    return found


def _process_table() -> dict[int, tuple[int, bytes]]:
    """pid: (parent pid, command line) of every live process."""
    table = {}
    for pid, fields in _stats().items():
        try:
            table[pid] = (int(fields[1]), Path(f"/proc/{pid}/cmdline").read_bytes())
        except OSError:
            continue
    return table


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """Turns SIGTERM and SIGHUP into KeyboardInterrupt, so the `finally`s stop what we started."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def leftovers(state_dir: Path, ports: Mapping[str, int]) -> tuple[list[int], list[str]]:
    """What outlived a run: its processes (recognised by their STATE_DIR) and the names of its
    `ports` something still listens on. Both empty after a clean stop."""
    pids = processes_with_env("STATE_DIR", str(state_dir))
    return pids, [name for name, port in ports.items() if port_is_bound(port)]


def kill(pids: Iterable[int]) -> None:
    """SIGKILLs each process, saying so (for leftovers, after the run failed to stop them)."""
    for pid in pids:
        print(f"--> killing leftover process {pid}", flush=True)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
