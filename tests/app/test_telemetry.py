"""FastAPI's native OpenTelemetry: off by default (API_TELEMETRY), on when the setting says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.fresh import run_fresh, spans_in_memory
from tests.support.groups import FRESH
from tests.support.processes import free_port

UNSET = "-"
CASES = {UNSET: False, "false": False, "true": True}


def spans_of_a_greeting(settings: list[str]) -> dict[str, int]:
    """In a fresh process (tests.support.fresh), the spans of a greeting served by an app of each
    API_TELEMETRY setting, in the order given. The in-memory provider is set before any app
    exists, so an app's own setup cannot replace it, and each app's spans are counted apart."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from core.settings import get_settings

    exporter = spans_in_memory()
    counts = {}
    for setting in settings:
        os.environ.pop("API_TELEMETRY", None)
        if setting != UNSET:
            os.environ["API_TELEMETRY"] = setting
        get_settings.cache_clear()  # read once per process: here once per case
        exporter.clear()
        with TestClient(create_app()) as client:
            assert client.get("/api/v1/user/greeting").status_code == 200
        counts[setting] = len(exporter.get_finished_spans())
    return counts


@pytest.mark.fast
@FRESH
def test_requests_are_traced_only_when_api_telemetry_is_on(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LOGSERVER_ENABLED": "false",  # part: logserver
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
    }
    # "on" comes last, so no state it leaves behind can make an "off" case pass.
    counts, stderr = run_fresh(spans_of_a_greeting, list(CASES), env=env, stderr=tmp_path / "err")
    traced = {setting: counts[setting] > 0 for setting in CASES}
    assert traced == CASES, (counts, stderr)
