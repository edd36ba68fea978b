"""The api served by a real uvicorn on a free port, for tests that speak HTTP to it; the
generative test's seed in the report header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.support.fuzz import EXAMPLES, REPLAY, SEED
from tests.support.services import fresh_database


@pytest.fixture(scope="module")
def served_api(services: Settings, migrated_template: str) -> Iterator[str]:
    """The base URL of the api served over HTTP, on its own database for the module."""
    from tests.support import served  # the app's imports: not in the controller (tests/conftest.py)

    with (
        fresh_database(services, migrated_template) as settings,
        served.served_api(settings) as url,
    ):
        yield url


def pytest_report_header() -> str:
    return f"api fuzz: {EXAMPLES} examples per operation and mode, seed {SEED} ({REPLAY})"
