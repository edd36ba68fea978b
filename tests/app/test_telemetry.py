"""FastAPI's native OpenTelemetry: off by default (API_TELEMETRY), on when the setting says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import free_port

UNSET = "-"

# One interpreter for every case (an interpreter costs ~2 s): the in-memory provider is set
# before any app exists, so an app's own setup cannot replace it, and each app's spans are
# counted apart. The cases run in the order given; "on" comes last so no state it leaves
# behind can make an "off" case pass.
SPANS_OF_A_GREETING = """
import os, sys
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.main import create_app
from core.settings import get_settings

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
for setting in sys.argv[1:]:
    os.environ.pop("API_TELEMETRY", None)
    if setting != "-":
        os.environ["API_TELEMETRY"] = setting
    get_settings.cache_clear()  # read once per process: here once per case
    exporter.clear()
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/user/greeting").status_code == 200
    print(setting, len(exporter.get_finished_spans()))
"""

CASES = {UNSET: False, "false": False, "true": True}


@pytest.mark.fast
def test_requests_are_traced_only_when_api_telemetry_is_on() -> None:
    env = {
        **os.environ,
        "LOGSERVER_ENABLED": "false",  # part: logserver
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-c", SPANS_OF_A_GREETING, *CASES],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.strip().splitlines()[-len(CASES) :])
    traced = {setting: int(counts[setting]) > 0 for setting in CASES}
    assert traced == CASES, result.stdout
