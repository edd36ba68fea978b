"""compose.yaml: valid for the compose spec, the components from the runtime image with health
checks and ordered start-up, settings from the documented env file, and a Swarm-ready file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import OTHER_SECRETS, Settings
from scripts.swarm import for_swarm
from tests.env.tools import ROOT, VENV_BIN, run

COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.production.example"
COMMANDS = {  # the components of the runtime image, by their command
    "api": ["python", "-m", "app"],
    # part: background
    "worker": ["celery", "-A", "worker.celery_app", "worker"],
    "beat": [
        "celery",
        "-A",
        "worker.celery_app",
        "beat",
        "--schedule",
        "/state/celery/beat-schedule",
    ],
    "flower": ["python", "-m", "worker", "flower"],  # part: flower
    # end part: background
    "logserver": ["python", "-m", "logserver", "serve", "--host", "0.0.0.0"],  # part: logserver
    "migrate": ["alembic", "upgrade", "head"],
}
POSTGRES_IMAGE_SETTINGS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# The secrets .env.production.example leaves for the user to set, besides OTHER_SECRETS.
PRODUCTION_SECRETS = (
    "POSTGRES_PASSWORD",
    "LOGSERVER_TOKEN",  # part: logserver
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def test_validates_against_the_compose_spec() -> None:
    checker = shutil.which("check-jsonschema", path=str(VENV_BIN))
    assert checker, "check-jsonschema is missing from .venv (a dev dependency)"
    run([checker, "--builtin-schema", "vendor.compose-spec", COMPOSE])


def test_runs_the_components_from_one_runtime_image(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {*COMMANDS, "postgres", "redis"}
    images = {services[name]["image"] for name in COMMANDS}
    assert len(images) == 1
    for name, command in COMMANDS.items():
        assert services[name]["command"] == command, name
        assert services[name]["build"]["target"] == "runtime", name


def _is_one_shot(name: str, services: dict[str, dict[str, Any]]) -> bool:
    """Waited for until it completes, and not restarted once it has succeeded."""
    policy = services[name].get("deploy", {}).get("restart_policy", {}).get("condition")
    waited_for = any(
        (service.get("depends_on") or {}).get(name, {}).get("condition")
        == "service_completed_successfully"
        for service in services.values()
    )
    return waited_for and policy in {"on-failure", "none"}


def test_every_service_has_a_health_check_or_is_a_one_shot(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        healthcheck = service.get("healthcheck")
        if healthcheck is None or healthcheck.get("disable"):
            assert _is_one_shot(name, services), f"{name} has no health check and is not a one-shot"
        else:
            assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_start_up_waits_for_health_and_for_the_migration(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in {"api", "worker", "beat"} & set(services):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            if dependency in {"postgres", "redis"}:
                assert rule["condition"] == "service_healthy", f"{name} -> {dependency}"


def test_api_and_worker_scale_with_replicas(services: dict[str, dict[str, Any]]) -> None:
    for name in {"api", "worker"} & set(services):
        assert "replicas" in services[name]["deploy"], name
    # part: background
    assert services["beat"]["deploy"]["replicas"] == 1, "a second beat would run every task twice"
    # end part: background


def test_data_and_logs_are_on_named_volumes(services: dict[str, dict[str, Any]]) -> None:
    volumes = yaml.safe_load(COMPOSE.read_text())["volumes"]

    def named(service: str, target: str) -> bool:
        mounts = [mount.split(":") for mount in services[service].get("volumes", [])]
        return any(source in volumes and path == target for source, path, *_ in mounts)

    assert named("postgres", "/var/lib/postgresql")
    assert named("redis", "/data")
    assert named("logserver", "/state/logs")  # part: logserver
    assert named("beat", "/state/celery")  # part: background


def _env_file_settings(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_env_example_holds_only_real_settings_and_the_secrets() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    documented = _env_file_settings(ENV_EXAMPLE)
    unknown = set(documented) - settings - POSTGRES_IMAGE_SETTINGS
    assert not unknown, f".env.production.example sets what no setting reads: {sorted(unknown)}"
    for secret in (*PRODUCTION_SECRETS, *map(str.upper, OTHER_SECRETS)):
        assert documented[secret] == "CHANGE-ME", secret
    text = ENV_EXAMPLE.read_text()
    for key in documented:
        assert re.search(rf"#[^\n]*\n(?:[A-Z_]+=[^\n]*\n)*{key}=", text), f"{key} is undocumented"


def test_services_find_each_other_by_name(services: dict[str, dict[str, Any]]) -> None:
    environment = services["api"]["environment"]
    assert (environment["POSTGRES_HOST"], environment["REDIS_HOST"]) == ("postgres", "redis")
    assert environment["LOGSERVER_HOST"] == "logserver"  # part: logserver
    assert environment["BIND_HOST"] == "0.0.0.0" and environment["ENVIRONMENT"] == "production"
    for name in COMMANDS:  # the log server's adds its own options
        assert environment.items() <= services[name]["environment"].items(), name


def test_the_swarm_file_drops_what_a_stack_rejects() -> None:
    plain = for_swarm(yaml.safe_load(COMPOSE.read_text()))
    no_mesh = for_swarm(yaml.safe_load(COMPOSE.read_text()), mesh=False)
    assert plain["version"] == "3.9"
    for service in plain["services"].values():
        assert "depends_on" not in service
        assert "start_interval" not in service.get("healthcheck", {})
    for service in no_mesh["services"].values():
        assert service["deploy"]["endpoint_mode"] == "dnsrr"
        for port in service.get("ports", []):
            assert port["mode"] == "host" and "host_ip" not in port
    assert no_mesh["services"]["api"]["ports"][0]["target"] == 8000
    assert "published" in no_mesh["services"]["api"]["ports"][0]
    dynamic = for_swarm(yaml.safe_load(COMPOSE.read_text()), mesh=False, dynamic_ports=True)
    assert dynamic["services"]["api"]["ports"] == [{"target": 8000, "mode": "host"}]


def test_on_a_swarm_what_waited_for_migrate_waits_for_the_schema_and_migrate_for_postgres() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    after_migrate = {
        name
        for name, service in compose["services"].items()
        if "migrate" in (service.get("depends_on") or {})
    }
    expected = {"api"}
    expected |= {"worker", "beat"}  # part: background
    assert after_migrate >= expected
    swarm = for_swarm(yaml.safe_load(COMPOSE.read_text()))
    for name, service in swarm["services"].items():
        command = compose["services"][name].get("command")
        if name in after_migrate | {"migrate"}:
            shell, script = service["command"][:3:2]
            assert (shell, service["command"][3:]) == ("sh", ["sh", *command]), name
            wait = "--reachable 600" if name == "migrate" else "600"
            assert script == f'python -m app.db.schema_head {wait} && exec "$$@"', name
        else:
            assert service.get("command") == command, name


def _modules_named(command: list[str] | str) -> list[str]:
    """The project modules a command runs: `python -m X` and `celery -A X`."""
    words = command.split() if isinstance(command, str) else command
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in {"-m", "-A"}]


def test_commands_and_health_checks_name_modules_that_exist(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        commands = [
            service.get("command") or [],
            (service.get("healthcheck") or {}).get("test", []),
        ]
        for module in (m for command in commands for m in _modules_named(command)):
            path = ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), (
                f"{name} runs {module}, which is not in the checkout"
            )
