"""process-compose.yaml against process-compose's own JSON schema, and the shape the stack needs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from core.components import COMPONENTS
from core.settings import ROOT
from scripts import stack
from scripts.launch import TOOLS_BIN

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it

CONFIG = ROOT / "process-compose.yaml"
SCHEMA_FROM_BOOTSTRAP = TOOLS_BIN.parent / "process-compose-schema.json"


@pytest.fixture
def schema(tmp_path: Path) -> Path:
    """`process-compose schema` where the binary has it; else the schema of the built module."""
    result = subprocess.run([stack.binary(), "schema"], capture_output=True, text=True, check=False)
    if result.returncode == 0 and result.stdout.lstrip().startswith("{"):
        path = tmp_path / "schema.json"
        path.write_text(result.stdout)
        return path
    assert SCHEMA_FROM_BOOTSTRAP.exists(), (
        f"{stack.binary()} has no `schema` command and the bootstrap built no process-compose "
        f"(it copies the module's schema when it does): no schema to check against"
    )
    return SCHEMA_FROM_BOOTSTRAP


def test_process_compose_yaml_matches_the_schema(schema: Path) -> None:
    json.loads(schema.read_text())
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "check-jsonschema"),
            "--schemafile",
            str(schema),
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_long_running_process_has_a_probe_and_a_restart_policy() -> None:
    processes = yaml.safe_load(CONFIG.read_text())["processes"]
    # One process per component of the table (core/components.py), each run by `dev run`.
    assert list(processes) == [component.name for component in COMPONENTS]
    for name, process in processes.items():
        assert process["command"].split("#")[0].split() == ["dev", "run", name], name
        assert "${STATE_DIR}/process-compose/" in process["log_location"], name
        if name == "migrate":
            assert process["availability"]["restart"] == "no"
            continue
        assert "readiness_probe" in process, name
        assert process["availability"]["restart"] == "on_failure", name
    for name in {"api", "worker", "beat"} & set(processes):
        conditions = {dep: c["condition"] for dep, c in processes[name]["depends_on"].items()}
        assert conditions["redis"] == "process_healthy", name
        assert conditions["logserver"] == "process_healthy", name  # part: logserver
    # What reads Postgres waits for the schema; beat does not, so it starts sooner.
    for name in {"api", "worker"} & set(processes):
        migrate = processes[name]["depends_on"]["migrate"]["condition"]
        assert migrate == "process_completed_successfully", name
