"""FastAPI's native OpenTelemetry: off by default (API_TELEMETRY), on when the setting says so.

Each case runs in its own interpreter, since OpenTelemetry's global tracer provider can be set
only once per process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import free_port

SPANS_OF_A_GREETING = """
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.main import create_app

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
with TestClient(create_app()) as client:
    assert client.get("/api/v1/user/greeting").status_code == 200
print(len(exporter.get_finished_spans()))
"""


@pytest.mark.fast
@pytest.mark.parametrize(("setting", "traced"), [(None, False), ("false", False), ("true", True)])
def test_requests_are_traced_only_when_api_telemetry_is_on(
    setting: str | None, traced: bool
) -> None:
    env = {
        **os.environ,
        "LOGSERVER_ENABLED": "false",
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
    }
    env.pop("API_TELEMETRY", None)
    if setting is not None:
        env["API_TELEMETRY"] = setting
    result = subprocess.run(
        [sys.executable, "-c", SPANS_OF_A_GREETING],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spans = int(result.stdout.strip().splitlines()[-1])
    assert (spans > 0) is traced, result.stdout
