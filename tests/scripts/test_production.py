"""The production deployment refuses to start unsafe: `make up` refuses an env file whose secrets
are still the example's CHANGE-ME, or empty, with one line naming the setting, before any
container engine is asked; compose.yaml's app services run hardened."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT

pytestmark = pytest.mark.fast  # nothing starts: make test-fast runs it


def make_up(env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "up"],
        cwd=ROOT,
        env={**os.environ, "ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_up_with_the_unchanged_example_refuses_naming_the_setting(tmp_path: Path) -> None:
    env_file = tmp_path / "env.production"
    env_file.write_text((ROOT / ".env.production.example").read_text())
    result = make_up(env_file)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f"compose: error: {env_file}: POSTGRES_PASSWORD is still CHANGE-ME: "
        "set a secret of your own"
    )


def test_make_up_names_each_secret_left_as_it_was(tmp_path: Path) -> None:
    example = (ROOT / ".env.production.example").read_text()
    env_file = tmp_path / "env.production"
    env_file.write_text(example.replace("POSTGRES_PASSWORD=CHANGE-ME", "POSTGRES_PASSWORD="))
    result = make_up(env_file)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        f"compose: error: {env_file}: POSTGRES_PASSWORD is empty: set it (production refuses to "
        "start without it)"
    )


def test_the_app_services_run_without_capabilities_or_privilege_escalation() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for name, service in services.items():
        if service.get("image", "").startswith(("postgres:", "redis:", "valkey/")):
            continue
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
