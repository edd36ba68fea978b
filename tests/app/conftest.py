"""The api served by a real uvicorn on a free port, for tests that speak HTTP to it; the
generative test's seed in the report header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.fuzz import EXAMPLES, REPLAY, SEED

# The fixtures import what they use, not this file (tests/conftest.py says why).
if TYPE_CHECKING:
    from core.settings import Settings


@pytest.fixture(scope="module")
def served_api(services: Settings, migrated_template: str) -> Iterator[str]:
    """The base URL of the api served over HTTP, on its own database for the module."""
    from tests.support import served
    from tests.support.services import fresh_database

    with (
        fresh_database(services, migrated_template) as settings,
        served.served_api(settings) as url,
    ):
        yield url


def pytest_report_header() -> str:
    return f"api fuzz: {EXAMPLES} examples per operation and mode, seed {SEED} ({REPLAY})"
