"""Each Kubernetes container of the app runs what compose.yaml runs (which the containers tier
runs for real on Podman): the same image, command and environment. The local overlay's stores
are compose.yaml's hosts; production differs from it in the stores' addresses only."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from core.components import COMPONENTS
from core.settings import ROOT
from tests.deploy.manifests import Manifest, container, environment

pytestmark = pytest.mark.fast

APP_SERVICES = tuple(c.name for c in COMPONENTS if c.name not in {"postgres", "redis"})
STORE_ADDRESSES = {"POSTGRES_HOST", "POSTGRES_PORT", "REDIS_HOST", "REDIS_PORT"}
# ${NAME:-default} with nothing set in the shell: the default, as compose reads it.
INTERPOLATION = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    return services


def env_file(path: str) -> dict[str, str]:
    lines = (ROOT / path).read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return dict(pair for pair in pairs if len(pair) == 2)


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's variables with .env.production made from the example (`cp`, as
    docs/production.md says) and nothing set in the shell."""
    assert service["env_file"] == "${ENV_FILE:-.env.production}"
    variables = env_file(".env.production.example")
    for name, value in service.get("environment", {}).items():
        variables[name] = INTERPOLATION.sub(r"\1", str(value))
    return variables


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_container_runs_the_compose_command(
    rendered: dict[str, list[Manifest]], name: str
) -> None:
    service = compose_services()[name]
    found = container(rendered["local"], name)
    assert found["command"] == service["command"]
    assert "args" not in found
    repository = INTERPOLATION.sub(r"\1", service["image"]).rsplit(":", 1)[0]
    assert found["image"].rsplit(":", 1)[0] == repository


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_container_has_the_compose_environment(
    rendered: dict[str, list[Manifest]], name: str
) -> None:
    expected = compose_environment(compose_services()[name])
    assert environment(rendered["local"], name) == expected


@pytest.mark.parametrize("name", APP_SERVICES)
def test_production_moves_only_the_stores(rendered: dict[str, list[Manifest]], name: str) -> None:
    local = environment(rendered["local"], name)
    production = environment(rendered["production"], name)
    assert local.keys() == production.keys()
    changed = {key for key in local if local[key] != production[key]}
    assert {"POSTGRES_HOST", "REDIS_HOST"} <= changed <= STORE_ADDRESSES


def test_the_secrets_are_the_changeme_settings() -> None:
    """What .env.production.example says to change is in the Secret, and nothing else is."""
    example = env_file(".env.production.example")
    secrets = env_file("deploy/k8s/base/secrets.env")
    assert secrets == {name: value for name, value in example.items() if value == "CHANGE-ME"}
