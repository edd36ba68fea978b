"""The settings of a test's own stack: free ports, a state dir of its own, removed after."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# The fixture imports what it uses, not this file (tests/conftest.py says why).
if TYPE_CHECKING:
    from core.settings import Settings


@pytest.fixture
def stack_settings() -> Iterator[tuple[Settings, dict[str, str]]]:
    from scripts.isolated import isolated_run
    from tests.support.paths import TEST_STATE

    state_dir = TEST_STATE / f"stack-{uuid.uuid4().hex[:8]}"
    run = isolated_run(state_dir, environment="dev")
    yield run.settings, run.overrides
    subprocess.run(["rm", "-rf", str(state_dir)], check=False)
