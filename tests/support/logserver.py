"""The real log server as the tests run it, on a free loopback port: in this process on its own
event loop thread (what it stores), or as a subprocess (where a signal, a restart or the program
itself is the point)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from logserver.cli import serve_argv
from logserver.server import LogServer, ServerConfig, check_config
from logserver.storage import StorageConfig
from scripts.probes import logserver_answers
from tests.support.processes import ServiceProcess, free_port, wait_for


def server_env() -> dict[str, str]:
    """The environment a test's log server runs in: no token unless given, INFO logs."""
    return {**os.environ, "LOGSERVER_TOKEN": "", "LOGSERVER_LOG_LEVEL": "INFO"}


class _LogServerUnderTest:
    """What both ways of running the server share: a free port, its folder and token, the
    readiness ping, and a `with` block that starts it and closes it."""

    def __init__(self, base: Path, host: str, token: str | None) -> None:
        self.base = base
        self.host = host
        self.port = free_port()
        self.token = token

    def start(self, timeout: float = 20) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def answers(self) -> bool:
        return logserver_answers(self.port, self.token)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class LogServerProcess(_LogServerUnderTest):
    """`python -m logserver serve` on its own port and folder; restartable, stopped on exit."""

    def __init__(
        self,
        base: Path,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        token: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(base, host, token)
        self.log_dir = state_dir / "logserver-output"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.extra_args = list(extra_args)
        self._runs = itertools.count(1)
        self.service: ServiceProcess | None = None

    @property
    def argv(self) -> list[str]:
        token = ["--token", self.token] if self.token else []
        return serve_argv(self.port, self.base, "--host", self.host, *self.extra_args, *token)

    @property
    def env(self) -> dict[str, str]:
        return server_env()

    def start(self, timeout: float = 20) -> None:
        self.service = ServiceProcess(
            f"logserver-{next(self._runs)}",
            self.argv,
            self.env,
            self.log_dir,
            stop_signal=signal.SIGTERM,
        )
        self.service.start()
        try:
            self.service.wait_until(self.answers, timeout)
        except BaseException:
            self.service.stop()  # the caller's `finally` is not entered when start() fails
            raise

    @property
    def pid(self) -> int:
        assert self.service is not None
        return self.service.pid

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20, resume: bool = False) -> int:
        """Stops the server; returns its exit code. `resume`: it was frozen (SIGSTOP), and gets
        SIGCONT right after the signal, so that it handles that first."""
        assert self.service is not None and self.service.process is not None
        self.service.process.send_signal(signum)
        if resume:
            self.service.process.send_signal(signal.SIGCONT)
        return self.service.process.wait(timeout)

    def output(self) -> str:
        return self.service.output() if self.service else ""

    def close(self) -> None:
        if self.service is not None:
            self.service.stop()


class InProcessLogServer(_LogServerUnderTest):
    """`logserver.server.LogServer` serving in this process, on an event loop of its own thread;
    stopped as SIGTERM stops the program (drain, flush, fsync)."""

    def __init__(self, base: Path, *, host: str = "127.0.0.1", token: str | None = None) -> None:
        super().__init__(base, host, token)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 20) -> None:
        config = ServerConfig(StorageConfig(self.base), self.host, self.port, self.token)
        check_config(config)
        self._thread = threading.Thread(target=self._serve, args=(config,), name="logserver")
        self._thread.start()
        try:
            # It binds within milliseconds: polled every 5 ms, not 50 (the fixture of most of the
            # log server's tests)
            wait_for(
                lambda: self.answers() or not self._thread_alive(),
                timeout,
                "the log server",
                interval=0.005,
            )
        except BaseException:
            self.close()  # the caller's `finally` is not entered when start() fails
            raise
        if not self._thread_alive():
            raise AssertionError(f"the log server stopped at start: {self._error!r}") from (
                self._error
            )

    def _serve(self, config: ServerConfig) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await LogServer(config).serve(self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # stop() reports it, close() raises it
            self._error = error

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 20) -> int:
        """Stops the server; 0 once it stopped cleanly, as the program's exit code would be."""
        assert self._thread is not None
        # Its loop and stop event exist from the thread's first step: wait for them, as a start
        # that timed out may stop it before that.
        wait_for(lambda: self._stop is not None or not self._thread_alive(), timeout, "its loop")
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the log server did not stop"
        return 0 if self._error is None else 1

    def close(self) -> None:
        """Stops the server if it still runs, and fails if it ever stopped on an error (a crash
        while serving or flushing), so that no test passes over a server that broke."""
        if self._thread_alive():
            self.stop()
        if self._error is not None:
            raise AssertionError(f"the log server failed: {self._error!r}") from self._error
