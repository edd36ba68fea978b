"""Flower, started with `dev run flower` or as compose.yaml starts it (`python -m worker
flower`): on its port, read-only, behind basic auth, and refused in production without it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr

from core.settings import Settings
from scripts.probes import http_status
from tests.support.paths import DEV
from tests.support.processes import (
    ServiceProcess,
    free_port,
    group_command_lines,
    listening_addresses,
)
from worker.flower import FlowerError
from worker.flower import credentials as flower_credentials

FLOWER_SECONDS = 30


def status(port: int, path: str, auth: tuple[str, str] | None = None) -> int:
    return http_status(f"http://127.0.0.1:{port}{path}", auth)


def test_flower_answers_on_loopback_behind_basic_auth(
    worker_settings: Settings, worker_env: dict[str, str]
) -> None:
    port = free_port()
    env = {
        **worker_env,
        "FLOWER_PORT": str(port),
        "FLOWER_USER": "admin",
        "FLOWER_PASSWORD": "s3cret",
    }
    log_dir = worker_settings.state_dir / "test-logs"
    with ServiceProcess("flower", [DEV, "run", "flower"], env, log_dir) as flower:
        flower.wait_until(lambda: status(port, "/healthcheck") == 200, timeout=FLOWER_SECONDS)
        assert listening_addresses(port) == ["127.0.0.1"]
        assert status(port, "/") == 401
        assert status(port, "/", ("admin", "wrong")) == 401
        assert status(port, "/", ("admin", "s3cret")) == 200
        # Every process of Flower's group (dev, the exec'd Flower, anything it forks): the
        # password reaches Flower through its environment, never a command line.
        command_lines = group_command_lines(flower.pid)
        assert any("flower" in argv for argv in command_lines), command_lines
        leaked = [argv for argv in command_lines if any("s3cret" in part for part in argv)]
        assert not leaked


def test_flower_credentials_come_in_pairs(worker_settings: Settings) -> None:
    def credentials(**fields: object) -> str | None:
        return flower_credentials(worker_settings.model_copy(update=fields))

    assert credentials() is None
    assert credentials(flower_user="", flower_password=SecretStr("")) is None
    assert credentials(flower_user="a", flower_password=SecretStr("b:c")) == "a:b:c"
    for fields in (
        {"flower_user": "a"},
        {"flower_password": SecretStr("b")},
        {"flower_user": "a,b", "flower_password": SecretStr("c")},
    ):
        with pytest.raises(FlowerError):
            credentials(**fields)


# compose.yaml's command for the flower service.
COMPOSE_FLOWER = [sys.executable, "-m", "worker", "flower"]


def test_production_flower_refuses_to_start_without_credentials(
    worker_env: dict[str, str],
) -> None:
    env = {**worker_env, "ENVIRONMENT": "production", "FLOWER_USER": "", "FLOWER_PASSWORD": ""}
    result = subprocess.run(
        COMPOSE_FLOWER, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: flower: production needs FLOWER_USER and FLOWER_PASSWORD (basic auth)"
    ]


def test_production_flower_answers_401_without_credentials(
    worker_settings: Settings, worker_env: dict[str, str]
) -> None:
    port = free_port()
    env = {
        **worker_env,
        "ENVIRONMENT": "production",
        "FLOWER_PORT": str(port),
        "FLOWER_USER": "admin",
        "FLOWER_PASSWORD": "s3cret",
    }
    log_dir = worker_settings.state_dir / "test-logs"
    with ServiceProcess("flower-production", COMPOSE_FLOWER, env, log_dir) as flower:
        flower.wait_until(lambda: status(port, "/healthcheck") == 200, timeout=FLOWER_SECONDS)
        for path in ("/", "/tasks", "/broker", "/api/workers"):
            assert status(port, path) == 401, path
        assert status(port, "/", ("admin", "s3cret")) == 200
