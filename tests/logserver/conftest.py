"""The log server as a subprocess, for the tests where its process is the point (signals,
restarts); the in-process `logserver` fixture is the suite's (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.logserver import LogServerProcess


@pytest.fixture
def logserver_process(tmp_path: Path) -> Iterator[LogServerProcess]:
    with LogServerProcess(tmp_path / "logs", tmp_path) as server:
        yield server
