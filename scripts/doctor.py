"""`dev doctor`: checks binaries, versions, ports, the state dir and the settings; prints fixes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.settings import DEFAULT_PORTS, ROOT, Settings, SettingsError, load_settings
from scripts import postgres, servers, stack
from scripts.launch import LaunchError, tool_path
from scripts.ports import ensure_port_free

PYTHON_MINOR = (3, 11)


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""


def _version(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    return (result.stdout or result.stderr).strip()


def check_binaries(settings: Settings) -> Iterator[Finding]:
    path = tool_path()
    for name, fix in (
        ("uv", "run 'make bootstrap'"),
        ("process-compose", "run 'make bootstrap' (it builds it into .tools/bin)"),
    ):
        found = shutil.which(name, path=path)
        yield Finding(found is not None, f"{name}: {found or 'not found'}", fix)
    programs: tuple[tuple[str, Callable[[], Path], int], ...] = (
        ("postgres", lambda: postgres.bin_dir(settings) / "postgres", servers.POSTGRES_MAJOR),
        ("redis (valkey-server)", lambda: servers.valkey_server(settings), servers.VALKEY_MAJOR),
    )
    for what, program, expected in programs:
        try:
            server = program()
            major = servers.major(server)
        except LaunchError as error:
            yield Finding(False, f"{what}: not found", str(error.code))
            continue
        yield Finding(
            major == expected,
            f"{what} {major}: {server}",
            f"run 'make bootstrap' (uv.lock holds {what} {expected}), or unset DEV_SERVERS",
        )


def check_python() -> Iterator[Finding]:
    venv_python = ROOT / ".venv" / "bin" / "python"
    found = _version([str(venv_python), "--version"]) if venv_python.exists() else "no .venv"
    yield Finding(
        found.startswith(f"Python {PYTHON_MINOR[0]}.{PYTHON_MINOR[1]}."),
        f".venv python: {found}",
        "run 'make bootstrap'",
    )


def check_state(settings: Settings) -> Iterator[Finding]:
    yield Finding(
        (ROOT / ".env").exists(), ".env exists", "run 'make bootstrap' (copies .env.example)"
    )
    state = settings.state_dir
    parent = next(p for p in [state, *state.parents] if p.exists())
    yield Finding(
        os.access(parent, os.W_OK),
        f"state dir {state} is writable",
        f"make {parent} writable, or set STATE_DIR",
    )
    if os.geteuid() == 0:
        try:
            postgres.run_as()
            yield Finding(True, "running as root: Postgres will run as the 'postgres' user")
        except LaunchError as error:
            yield Finding(False, "running as root without a 'postgres' user", str(error.code))


def check_ports(settings: Settings) -> Iterator[Finding]:
    if stack.is_running(settings):
        yield Finding(True, "the stack is running: its ports are in use by it (skipped)")
        return
    for name in DEFAULT_PORTS:
        port = settings.port(name)
        try:
            ensure_port_free(name, "127.0.0.1", port)
            yield Finding(True, f"port {port} ({name.upper()}) is free")
        except LaunchError:
            yield Finding(
                False,
                f"port {port} ({name.upper()}) is taken",
                f"stop what uses it, or set PORT_OFFSET or {name.upper()} in .env",
            )


def diagnose(report: Callable[[Finding], None]) -> bool:
    """Runs every check, reports each; True when all pass."""
    try:
        settings = load_settings()
    except SettingsError as error:
        report(Finding(False, "settings", f"{error.code} — fix it in .env or the environment"))
        return False
    findings = [Finding(True, "settings load")]
    checks = (
        check_python(),
        check_binaries(settings),
        check_state(settings),
        check_ports(settings),
    )
    for check in checks:
        findings.extend(check)
    for finding in findings:
        report(finding)
    return all(finding.ok for finding in findings)
