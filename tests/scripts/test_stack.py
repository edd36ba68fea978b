"""The environment `dev up` gives the stack's processes."""

from __future__ import annotations

import pytest

from core.settings import load_settings
from scripts import stack

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def test_the_tui_gets_the_echo_in_colour_unless_told_otherwise() -> None:
    auto = load_settings(log_color="auto")
    assert stack.up_environment(auto, tui=True)["LOG_COLOR"] == "always"
    assert stack.up_environment(auto, tui=False).get("LOG_COLOR") != "always"
    never = load_settings(log_color="never")
    assert stack.up_environment(never, tui=True).get("LOG_COLOR") != "always"


# part: logserver
def test_the_stack_traces_to_the_log_server_unless_told_otherwise() -> None:
    settings = load_settings(port_offset=7, logserver_token="")
    env = stack.tracing_environment(settings, {})
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{7779 + 7}"
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in env
    # The environment, with that endpoint, turns tracing on in each component's settings.
    assert load_settings(otel_exporter_otlp_endpoint=env["OTEL_EXPORTER_OTLP_ENDPOINT"]).tracing
    assert not load_settings(otel_exporter_otlp_endpoint=None).tracing
    assert not load_settings(otel_exporter_otlp_endpoint="http://x", tracing=False).tracing
    tokened = stack.tracing_environment(load_settings(logserver_token="s3cret"), {})
    assert tokened["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer%20s3cret"
    elsewhere = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert stack.tracing_environment(settings, elsewhere) == {}


# end part: logserver
