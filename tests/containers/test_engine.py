"""The engine itself: podman runs a container of the stand-in images, through runc, with its
storage in this checkout, and the Dockerfile's `FROM` names resolve to them without a pull."""

from __future__ import annotations

import pytest

from tests.containers.engine import ENGINE_HOME, STAND_IN_RECIPE, Podman, pulled

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]


def test_podman_uses_runc_and_the_checkouts_storage(podman: Podman) -> None:
    info = podman(
        "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}} {{.Store.RunRoot}}"
    ).stdout.split()
    assert info == ["runc", str(ENGINE_HOME / "storage"), str(ENGINE_HOME / "run")]


def test_the_short_names_run_the_stand_ins(podman: Podman, base_images: tuple[str, str]) -> None:
    for image in base_images:
        # Each is in this checkout's storage: our stand-in (its recipe's label), or the real
        # image, which only a registry that answers can have given.
        label = podman.label(image, "fastapi-stack.stand-in")
        assert label == STAND_IN_RECIPE or (label is not None and pulled(podman, image)), image
    python = podman(
        "run",
        "--rm",
        "--pull=never",
        "python:3.11-slim-bookworm",
        "python",
        "-c",
        "import ssl, venv, sys; print(sys.version_info[:2])",
    ).stdout
    assert python.strip() == "(3, 11)"
    go = podman("run", "--rm", "--pull=never", "golang:1.25-bookworm", "go", "version").stdout
    assert go.startswith("go version go1.")
