"""The runtime image, really built (buildah, from a debootstrap base standing in for
python:3.11-slim) and run: the api answers /health as a non-root user, and the image holds every
component's command but no compiler and no uv."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.env.tools import Buildah

# The first run builds the base with debootstrap and every layer: a few minutes. It runs on the
# container tier's engine (podman's store, tests/containers/engine.py), so it is of that tier.
pytestmark = [pytest.mark.containers, pytest.mark.timeout(1200)]

STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            status: int = response.status
            return status
    except OSError:
        return None


@pytest.fixture
def api(buildah: Buildah, runtime_container: str) -> Iterator[int]:
    """The image's default command (the api, 2 worker processes), on a free loopback port."""
    port = _free_port()
    settings = {
        "API_PORT": str(port),
        "API_WORKERS": "2",
        "BIND_HOST": "127.0.0.1",
        "LOGSERVER_ENABLED": "false",  # part: logserver
        # Production refuses to start without its secrets (the user's .env.production).
        "POSTGRES_PASSWORD": "image-test-password",
        "LOGSERVER_TOKEN": "image-test-token",  # part: logserver
    }
    env_options = [
        option for name, value in settings.items() for option in ("--env", f"{name}={value}")
    ]
    server = subprocess.Popen(
        buildah.command(
            "run",
            "--isolation",
            "chroot",
            *env_options,
            runtime_container,
            "--",
            "python",
            "-m",
            "app",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=buildah.env(),
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while _health(port) is None:
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.communicate(timeout=10)[0] if server.poll() is not None else ""
                pytest.fail(f"the api did not answer on {port}: exit {server.poll()}\n{output}")
            time.sleep(0.2)
        yield port
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # buildah and the api under it, this group only
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def test_api_answers_health_as_a_non_root_user(
    api: int,
    buildah: Buildah,
    runtime_container: str,
) -> None:
    assert _health(api) == 200
    uid = buildah("run", "--isolation", "chroot", runtime_container, "--", "id", "-u").stdout
    assert int(uid) != 0


def _config(buildah: Buildah, image: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", image).stdout)[
        "Docker"
    ]["config"]
    return config


def test_image_runs_as_non_root_with_a_health_check(buildah: Buildah, runtime_image: str) -> None:
    config = _config(buildah, runtime_image)
    assert config["User"].split(":")[0] not in {"", "0", "root"}
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"] == ["python", "-m", "app"]
    assert "ENVIRONMENT=production" in config["Env"]


def _sh(buildah: Buildah, container: str, script: str) -> str:
    return buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", script).stdout


def test_image_has_no_compiler_nor_uv_and_compiled_bytecode(
    buildah: Buildah,
    runtime_container: str,
) -> None:
    found = _sh(
        buildah,
        runtime_container,
        "for tool in gcc cc c++ make uv pip3.11; do command -v $tool || true; done",
    )
    assert found.split() == [], f"the runtime image has build tools: {found.split()}"
    compiled = _sh(
        buildah,
        runtime_container,
        "ls /app/app/__pycache__/main.*.pyc "
        "/app/.venv/lib/python3.11/site-packages/fastapi/__pycache__/applications.*.pyc",
    )
    assert len(compiled.split()) == 2


def test_image_holds_what_every_component_needs(buildah: Buildah, runtime_container: str) -> None:
    listing = _sh(buildah, runtime_container, "cd /app && ls -A").split()
    needed = {"core", "app", "sql", "migrations", "pyproject.toml", ".venv"}
    needed.add("logserver")  # part: logserver
    needed.add("worker")  # part: background
    assert needed <= set(listing)
    left_out = {"tests", ".state", ".tools", ".git", ".env", "scripts"}
    left_out.add("bench")  # part: bench
    assert not left_out & set(listing)
    # alembic finds its configuration in pyproject.toml and the migrations beside it.
    history = _sh(buildah, runtime_container, "cd /app && alembic history")
    assert "(head)" in history
    _sh(buildah, runtime_container, "python -c 'import uvicorn, app.main'")
    _sh(buildah, runtime_container, "celery --version")  # part: background
    _sh(buildah, runtime_container, "python -c 'import flower'")  # part: flower
    # Dev tools stay out: the debugger and the YAML library are dev dependencies.
    dev_only = _sh(
        buildah,
        runtime_container,
        "python -c 'import importlib.util as u; "
        'print(*[m for m in ("debugpy", "yaml") if u.find_spec(m)])\'',
    )
    assert dev_only.split() == [], f"the runtime image holds dev tools: {dev_only.split()}"
    writable = _sh(
        buildah,
        runtime_container,
        "test -w /state/logs && test -w /state/celery && ! test -w /app && echo ok",
    )
    assert writable.strip() == "ok"
