"""The real log server as a subprocess on a free loopback port, as the tests run it."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from logserver.cli import serve_argv
from scripts.supervise import logserver_answers
from tests.support.processes import ServiceProcess, free_port


def server_env() -> dict[str, str]:
    """The environment a test's log server runs in: no token unless given, INFO logs."""
    return {**os.environ, "LOGSERVER_TOKEN": "", "LOGSERVER_LOG_LEVEL": "INFO"}


class LogServerProcess:
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
        self.base = base
        self.host = host
        self.port = free_port()
        self.token = token
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
        self.service.__enter__()
        self.service.wait_until(self.answers, timeout)

    def answers(self) -> bool:
        return logserver_answers(self.port, self.token)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Stops the server; returns its exit code."""
        assert self.service is not None and self.service.process is not None
        self.service.process.send_signal(signum)
        return self.service.process.wait(timeout)

    def output(self) -> str:
        return self.service.output() if self.service else ""

    def __enter__(self) -> LogServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.service is not None:
            self.service.stop()
