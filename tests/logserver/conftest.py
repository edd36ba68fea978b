"""A real log server, started as a subprocess on a free loopback port, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.logserver import LogServerProcess


@pytest.fixture
def logserver(tmp_path: Path) -> Iterator[LogServerProcess]:
    with LogServerProcess(tmp_path / "logs", tmp_path) as server:
        yield server
