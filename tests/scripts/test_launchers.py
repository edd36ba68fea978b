"""Launchers fail with one clear line: a taken port, a missing binary, a bad setting."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.support.processes import run_dev


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("component", ["postgres", "redis", "api"])
def test_a_taken_port_is_named(component: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = str(squatter.getsockname()[1])
        result = run_dev(
            "run",
            component,
            **{f"{component.upper()}_PORT": port, "STATE_DIR": ".state/test/taken-port"},
        )
    assert_one_line_error(result, component, port, "PORT_OFFSET")


def test_a_missing_binary_says_what_to_install() -> None:
    result = run_dev("run", "redis", PATH="/nonexistent")
    assert_one_line_error(result, "redis-server", "apt-get install redis-server")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_PORT", "eighty"),
        ("PORT_OFFSET", "-1"),
        ("DEBUG", "api,nonsense"),
        ("POSTGRES_DB", "drop table"),
    ],
)
def test_a_bad_setting_is_named(variable: str, value: str) -> None:
    result = run_dev("run", "api", **{variable: value})
    assert_one_line_error(result, "invalid settings", variable)


def test_an_unknown_component_is_named() -> None:
    result = run_dev("run", "nonsense")
    assert result.returncode != 0
    assert "nonsense" in result.stderr and "Traceback" not in result.stderr
