"""The log server as a subprocess, for the tests where its process is the point (signals,
restarts); the in-process `logserver` fixture is the suite's (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The fixture imports what it uses, not this file (tests/conftest.py says why).
if TYPE_CHECKING:
    from tests.support.logserver import LogServerProcess


@pytest.fixture
def logserver_process(tmp_path: Path) -> Iterator[LogServerProcess]:
    from tests.support.logserver import LogServerProcess

    with LogServerProcess(tmp_path / "logs", tmp_path) as server:
        yield server
