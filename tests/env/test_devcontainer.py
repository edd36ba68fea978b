"""devcontainer.json, as the real devcontainer CLI reads it: built from the Dockerfile's dev
target, a non-root user, the forwarded ports, the extensions and the bootstrap after creation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.settings import DEFAULT_PORTS
from tests.env import dockerfile
from tests.env.tools import ROOT, DevcontainerCli

CONFIG = ROOT / ".devcontainer" / "devcontainer.json"
PORTS = {  # the ports to forward, by their settings name; the label says which they are
    "api_port": "api",
    "flower_port": "flower",  # part: flower
    "debug_port_api": "debugpy api",
    "debug_port_worker": "debugpy worker",  # part: background
    "debug_port_beat": "debugpy beat",  # part: background
    "debug_port_logserver": "debugpy logserver",  # part: logserver
}


@pytest.fixture(scope="module")
def configuration(devcontainer_cli: DevcontainerCli) -> dict[str, Any]:
    result = devcontainer_cli(
        "read-configuration", "--workspace-folder", ROOT, "--config", CONFIG, "--log-level", "info"
    )
    configuration: dict[str, Any] = json.loads(result.stdout)["configuration"]
    return configuration


def test_built_from_the_dockerfile_dev_target(configuration: dict[str, Any]) -> None:
    build = configuration["build"]
    assert (CONFIG.parent / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert (CONFIG.parent / build["context"]).resolve() == ROOT
    assert build["target"] == "dev"
    assert build["target"] in dockerfile.stages(ROOT / "Dockerfile")


def test_runs_as_the_images_non_root_user_with_the_host_uid(configuration: dict[str, Any]) -> None:
    user = configuration["remoteUser"]
    assert user not in {"root", "0"}
    dev = dockerfile.stages(ROOT / "Dockerfile")["dev"]
    default_user = next(
        arg.arguments.partition("=")[2]
        for arg in dev.all("ARG")
        if arg.arguments.startswith("DEV_USER=")
    )
    assert default_user == user, "remoteUser is not the user the dev target creates"
    assert configuration.get("updateRemoteUserUID", True) is True


def test_forwards_the_api_and_debug_ports_with_labels(configuration: dict[str, Any]) -> None:
    expected = {DEFAULT_PORTS[name]: label for name, label in PORTS.items()}
    assert sorted(configuration["forwardPorts"]) == sorted(expected)
    attributes = configuration["portsAttributes"]
    for port, label in expected.items():
        assert attributes[str(port)]["label"] == label


def test_has_the_python_debugpy_and_ruff_extensions(configuration: dict[str, Any]) -> None:
    extensions = set(configuration["customizations"]["vscode"]["extensions"])
    assert {"ms-python.python", "ms-python.debugpy", "charliermarsh.ruff"} <= extensions


def test_bootstraps_after_creation(configuration: dict[str, Any]) -> None:
    assert configuration["postCreateCommand"] == "make bootstrap"
    makefile = (ROOT / "Makefile").read_text()
    assert "\nbootstrap:" in makefile


def test_python_extension_uses_the_project_venv(configuration: dict[str, Any]) -> None:
    settings = configuration["customizations"]["vscode"]["settings"]
    interpreter = Path(settings["python.defaultInterpreterPath"])
    assert interpreter.parts[-3:] == (".venv", "bin", "python")
