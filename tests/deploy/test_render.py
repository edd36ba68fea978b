"""Every overlay renders, and passes `kubernetes-validate --strict` (the API's schemas, offline;
unknown fields rejected) for the oldest and the newest Kubernetes the manifests support."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import Manifest

pytestmark = pytest.mark.fast

# The oldest: the first release whose schemas kubernetes-validate ships; nothing here needs newer
# (autoscaling/v2 is from 1.23, policy/v1 from 1.21).
SUPPORTED = ("1.25.0", "1.37.0")
# Kinds of operators' resources, which no built-in schema covers (checked in test_policy).
CUSTOM_KINDS = {"ScaledObject"}
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"


def test_there_are_the_overlays() -> None:
    assert OVERLAYS == ["keda", "local", "production"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_renders_every_component(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    names = {(m["kind"], m["metadata"]["name"]) for m in rendered[overlay]}
    expected = {
        ("Deployment", "api"),
        ("Service", "api"),
        ("HorizontalPodAutoscaler", "api"),
        ("Deployment", "worker"),
        ("Deployment", "beat"),
        ("Deployment", "flower"),
        ("StatefulSet", "logserver"),
        ("Job", "migrate"),
    }
    if overlay == "local":
        expected |= {("StatefulSet", "postgres"), ("StatefulSet", "redis")}
    assert expected <= names
    stores = {("StatefulSet", "postgres"), ("StatefulSet", "redis")}
    assert (overlay == "local") == (stores <= names), "only the local overlay runs the stores"


@pytest.mark.parametrize("version", SUPPORTED)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_strict_validation_passes(
    rendered_files: dict[str, Path], rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    done = subprocess.run(
        [str(VALIDATE), "--strict", "--kubernetes-version", version, str(rendered_files[overlay])],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    passed = [line for line in lines if line.startswith("INFO") and " passed " in line]
    custom = [m for m in rendered[overlay] if m["kind"] in CUSTOM_KINDS]
    assert len(passed) == len(rendered[overlay]) - len(custom), done.stdout
    assert all(line.startswith("INFO") for line in lines[: len(passed)]), done.stdout
    warned = [line for line in lines if line.startswith("WARN")]
    assert len(warned) == len(custom), done.stdout
