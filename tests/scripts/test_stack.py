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
