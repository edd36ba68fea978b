"""Flower, started with `dev run flower`: on its port, on loopback, behind basic auth."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from core.settings import Settings
from scripts.components import flower_credentials
from scripts.launch import LaunchError
from scripts.probes import http_status
from tests.support.paths import DEV
from tests.support.processes import (
    ServiceProcess,
    free_port,
    group_command_lines,
    listening_addresses,
)

FLOWER_SECONDS = 30


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
    url = f"http://127.0.0.1:{port}"
    with ServiceProcess("flower", [DEV, "run", "flower"], env, log_dir) as flower:
        flower.wait_until(lambda: http_status(f"{url}/healthcheck") == 200, timeout=FLOWER_SECONDS)
        assert listening_addresses(port) == ["127.0.0.1"]
        assert http_status(url) == 401
        assert http_status(url, ("admin", "wrong")) == 401
        assert http_status(url, ("admin", "s3cret")) == 200
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
        with pytest.raises(LaunchError):
            credentials(**fields)
