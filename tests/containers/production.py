"""The README's production steps in a copy of this checkout, as the container tests run them:
the copy, its .env.production, the deployment's variables and `make TARGET` timed."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.checkout import fresh_copy
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def copy_checkout(checkout: Path) -> None:
    """The checkout's files as git sees them (committed or not, ignored ones left out), and the
    README's first step: .env.production from the example, every CHANGE-ME replaced."""
    fresh_copy(checkout, skip=("tests/",))
    production_env_file(checkout)


def production_env_file(checkout: Path) -> dict[str, str]:
    """.env.production from the example, every CHANGE-ME replaced."""
    example = (checkout / ".env.production.example").read_text()
    assert "CHANGE-ME" in example
    secrets_by_name = {}
    lines = []
    for line in example.splitlines():
        if "=CHANGE-ME" in line and not line.lstrip().startswith("#"):
            name = line.split("=", 1)[0]
            secrets_by_name[name] = secrets.token_urlsafe(18)
            line = f"{name}={secrets_by_name[name]}"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    assert "=CHANGE-ME" not in text
    (checkout / ".env.production").write_text(text)
    return secrets_by_name


def published_ports(env: dict[str, str]) -> dict[str, str]:
    """`env` with free published ports, the compose CLI of .venv on PATH (the copy has no .venv
    of its own), and none of the developer's own deployment variables."""
    env = {
        **env,
        "API_PUBLISHED_PORT": str(free_port()),
        "FLOWER_PUBLISHED_PORT": str(free_port()),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }
    for name in ("APP_IMAGE", "ENV_FILE", "API_REPLICAS", "WORKER_REPLICAS"):
        env.pop(name, None)
    return env


def make(
    checkout: Path,
    target: str,
    env: dict[str, str],
    *,
    timeout: float = 1800,
    describe: Callable[[], str] = str,
) -> float:
    """`make target` (and VARIABLE=value words) in `checkout`, its seconds; a failure shows its
    output and `describe()`."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", *target.split()],  # the target, and VARIABLE=value overrides
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(
            f"`make {target}` exited {result.returncode} after {seconds:.0f}s\n"
            f"--- stdout\n{result.stdout[-5000:]}\n--- stderr\n{result.stderr[-5000:]}\n"
            f"--- containers\n{describe()}",
            pytrace=False,
        )
    return seconds
