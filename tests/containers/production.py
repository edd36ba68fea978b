"""The README's production steps in a copy of this checkout, as the container tests run them:
the copy, its .env.production, the deployment's variables and `make TARGET` timed."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.env.tools import run
from tests.support.checkout import fresh_copy
from tests.support.processes import free_port, wait_for

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
        "FLOWER_PUBLISHED_PORT": str(free_port()),  # part: flower
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }
    shell_variables = ["APP_IMAGE", "ENV_FILE", "API_REPLICAS"]
    shell_variables.append("WORKER_REPLICAS")  # part: background
    for name in shell_variables:
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
    # the target, and VARIABLE=value overrides
    result = run(["make", *target.split()], cwd=checkout, env=env, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(
            f"`make {target}` exited {result.returncode} after {seconds:.0f}s\n"
            f"--- stdout\n{result.stdout[-5000:]}\n--- stderr\n{result.stderr[-5000:]}\n"
            f"--- containers\n{describe()}",
            pytrace=False,
        )
    return seconds


Api = Callable[..., tuple[int, Any]]  # (method, path, body=None) -> (status, JSON body)


def user_round_trip(api: Api, prefix: str) -> tuple[int, str]:
    """A user created and read back through `api`: (its id, its name)."""
    username = f"{prefix}{uuid.uuid4().hex[:6]}"
    status, user = api(
        "POST", "/api/v1/users", {"username": username, "email": f"{username}@example.com"}
    )
    assert status == 201, user
    status, read = api("GET", f"/api/v1/users/{user['id']}")
    assert (status, read["username"]) == (200, username), read
    return int(user["id"]), username


def finished_task(api: Api, task_id: str) -> dict[str, Any]:
    """The task's state once it finished, as the api reports it."""
    task: dict[str, Any] = {}

    def finished() -> bool:
        nonlocal task
        task = api("GET", f"/api/v1/tasks/{task_id}")[1]
        return task.get("state") in {"SUCCESS", "FAILURE"}

    wait_for(finished, timeout=60, what=f"task {task_id} to finish", interval=1)
    return task
