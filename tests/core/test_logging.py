"""What a process's logging does with each setting, in a real process: the dev echo on its
stderr next to the records shipped to the log server (or spilled while it is down), and nothing
echoed in production; without the log server, the echo alone in dev and JSON on stderr with
the echo off."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
import pytest

from core.context import request_id
from core.echo import EchoHandler
from core.logging import direct_handler  # part: logserver
from core.records import ContextFilter
from logserver.client import ClientConfig, LogServerHandler  # part: logserver
from tests.support.console import record_line
from tests.support.fresh import run_fresh
from tests.support.groups import FRESH
from tests.support.processes import free_port


def log_a_record_and_a_failure() -> None:
    """What a process logs, in a fresh one (tests.support.fresh): configured as the worker."""
    from core.logging import configure_logging

    configure_logging("worker")
    log = logging.getLogger("tests.logging")
    log.info("plain %d", 1)
    empty: dict[str, int] = {}
    try:
        empty["missing"]
    except KeyError:
        log.exception("it failed")
    logging.shutdown()


RECORD = record_line(r"(\w+) +worker +tests\.logging: (.*)")
# The settings that leave the log server out (nothing to leave out in a project without it).
NO_LOG_SERVER: dict[str, str] = {
    "LOGSERVER_ENABLED": "false",  # part: logserver
}


def _run(tmp_path: Path, **settings: str) -> list[str]:
    env = {
        **os.environ,
        "STATE_DIR": str(tmp_path),
        "LOGSERVER_PORT": str(free_port()),  # nothing listens there  # part: logserver
        "DEBUG": "",
        **settings,
    }
    for name in ("LOG_ECHO", "LOG_COLOR", *NO_LOG_SERVER):
        if name not in settings:
            env.pop(name, None)
    _, stderr = run_fresh(log_a_record_and_a_failure, env=env, stderr=tmp_path / "stderr")
    return stderr.splitlines()


# part: logserver
def _spilled(tmp_path: Path) -> list[dict[str, object]]:
    spill = tmp_path / "log-spill" / "worker.jsonl"
    return [orjson.loads(line) for line in spill.read_bytes().splitlines()]


@pytest.mark.fast
@FRESH
def test_in_dev_the_echo_shows_records_while_the_spill_file_keeps_them(tmp_path: Path) -> None:
    stderr = _run(tmp_path, ENVIRONMENT="dev")
    shown = [match.groups() for match in map(RECORD.match, stderr) if match]
    assert shown == [("INFO", "plain 1"), ("ERROR", "it failed")]
    failed = stderr.index(next(line for line in stderr if line.endswith("it failed")))
    assert stderr[failed + 1] == "    Traceback (most recent call last):"  # indented under it
    assert "    KeyError: 'missing'" in stderr[failed + 2 :]
    assert any("unreachable" in line and "log-spill" in line for line in stderr)
    kept = _spilled(tmp_path)
    assert [doc["message"] for doc in kept] == ["plain 1", "it failed"]
    assert "KeyError: 'missing'" in str(kept[1]["exc"])


@pytest.mark.fast
@FRESH
def test_in_production_and_with_log_echo_off_nothing_is_echoed(tmp_path: Path) -> None:
    production = {"ENVIRONMENT": "production", "POSTGRES_PASSWORD": "p", "LOGSERVER_TOKEN": "t"}
    for settings in (production, {"ENVIRONMENT": "dev", "LOG_ECHO": "false"}):
        stderr = _run(tmp_path, **settings)
        assert not any(RECORD.match(line) for line in stderr), settings
        assert all("logserver client" in line for line in stderr), stderr
        assert [doc["message"] for doc in _spilled(tmp_path)][-2:] == ["plain 1", "it failed"]


# end part: logserver


@pytest.mark.fast
@FRESH
def test_without_the_log_server_the_dev_echo_shows_records_alone(tmp_path: Path) -> None:
    stderr = _run(tmp_path, ENVIRONMENT="dev", **NO_LOG_SERVER)
    shown = [match.groups() for match in map(RECORD.match, stderr) if match]
    assert shown == [("INFO", "plain 1"), ("ERROR", "it failed")]
    failed = stderr.index(next(line for line in stderr if line.endswith("it failed")))
    assert stderr[failed + 1] == "    Traceback (most recent call last):"  # indented under it
    assert "    KeyError: 'missing'" in stderr[failed + 2 :]
    assert not any(line.startswith("{") for line in stderr), stderr  # no JSON beside it


@pytest.mark.fast
@FRESH
def test_without_the_log_server_or_the_echo_records_go_to_stderr_as_json(
    tmp_path: Path,
) -> None:
    for settings in ({"ENVIRONMENT": "dev", "LOG_ECHO": "false"}, {"ENVIRONMENT": "test"}):
        stderr = _run(tmp_path, **settings, **NO_LOG_SERVER)
        docs = [orjson.loads(line) for line in stderr if line.startswith("{")]
        assert [doc["message"] for doc in docs] == ["plain 1", "it failed"], settings
        assert "KeyError: 'missing'" in str(docs[1]["exc"])
        assert not any(RECORD.match(line) for line in stderr)


@pytest.mark.fast
@FRESH
def test_colour_always_colours_the_echo(tmp_path: Path) -> None:
    stderr = _run(tmp_path, ENVIRONMENT="dev", LOG_COLOR="always")
    assert any("\x1b[32mINFO" in line for line in stderr)


# part: logserver
def _tree(*handlers: logging.Handler) -> logging.Logger:
    """A logger `access` under a root of its own, outside the global logger tree."""
    root = logging.Logger("tests-root")
    access = logging.Logger("tests-root.access")
    access.parent = root
    for handler in handlers:
        root.addHandler(handler)
    return access


@pytest.mark.fast
def test_records_go_the_direct_way_only_to_a_lone_log_server_handler(tmp_path: Path) -> None:
    config = ClientConfig("127.0.0.1", free_port(), "tester", tmp_path / "spill")
    shipper = LogServerHandler(config)
    shipper.addFilter(ContextFilter({"request_id": request_id}))
    echo = EchoHandler("tester")
    try:
        access = _tree(shipper)
        assert direct_handler(access) is shipper
        access.disabled = True
        assert direct_handler(access) is None  # as Logger.handle: nothing is logged
        assert direct_handler(_tree(shipper, echo)) is None  # dev: the echo too
        assert direct_handler(_tree(echo)) is None
        access = _tree(shipper)
        access.propagate = False
        assert direct_handler(access) is None  # no handler on the way
        access = _tree(shipper)
        access.addFilter(lambda record: True)
        assert direct_handler(access) is None  # a logger's filter must see a record
        shipper.addFilter(lambda record: True)
        assert direct_handler(_tree(shipper)) is None  # so must a handler's
    finally:
        shipper.close()
        echo.close()


# end part: logserver
