"""Fixtures of the environment checks; the tools they drive are in tests/env/tools.py."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.engine import configure  # part: containers
from tests.env.tools import (
    CACHE,
    ROOT,
    RUNTIME_IMAGE,  # part: containers
    Buildah,  # part: containers
    DevcontainerCli,  # part: devcontainer
    Nix,  # part: flake
    install_devcontainer_cli,  # part: devcontainer
    installed,
)
from tests.support.tiers import unavailable


@pytest.fixture
def scratch(request: pytest.FixtureRequest) -> Iterator[Path]:
    """An empty folder of this test's own under .state/env-tests/scratch (not /tmp)."""
    folder = CACHE / "scratch" / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# part: flake
@pytest.fixture(scope="session")
def nix() -> Nix:
    nix_path = installed("nix", "nix-bin", tier="nix")
    return Nix(Path(nix_path).parent, CACHE / "nix")
    # end part: flake


# part: devcontainer
@pytest.fixture(scope="session")
def devcontainer_cli() -> DevcontainerCli:
    cli = install_devcontainer_cli()
    if isinstance(cli, str):
        unavailable(
            "devcontainer-cli", cli, "install Node.js 20+ and npm, with the npm registry reachable"
        )
    return cli
    # end part: devcontainer


# part: containers
@pytest.fixture(scope="session")
def buildah() -> Buildah:
    """The containers tier's (tests/env/test_image.py): fails, never skips, when it cannot run."""
    if os.geteuid() != 0:
        unavailable("containers", "the image tests run rootful buildah", "run as root, as CI does")
    tool = Buildah(installed("buildah", "buildah", tier="containers"), configure())
    info = tool("info", check=False)
    if info.returncode != 0:
        pytest.fail(f"buildah cannot run here: {info.stderr.strip()[-500:]}", pytrace=False)
    return tool


@pytest.fixture(scope="session")
def base_image(buildah: Buildah) -> str:
    """The stand-in for python:3.11-slim-bookworm (podman builds it; the store is shared)."""
    from tests.containers.engine import find_podman, python_stand_in

    return python_stand_in(find_podman())


@pytest.fixture(scope="session")
def runtime_image(buildah: Buildah, base_image: str) -> str:
    """The Dockerfile's runtime target, built from the checkout (cached steps reused)."""
    buildah.build(
        "--build-arg",
        f"BASE_IMAGE={base_image}",
        "--target",
        "runtime",
        "--tag",
        RUNTIME_IMAGE,
        "--file",
        ROOT / "Dockerfile",
        ROOT,
    )
    return RUNTIME_IMAGE


@pytest.fixture(scope="session")
def runtime_container(buildah: Buildah, runtime_image: str) -> Iterator[str]:
    """A working container of the runtime image (for commands that change nothing in it)."""
    name = buildah("from", "--pull=never", runtime_image).stdout.strip()
    yield name
    buildah("rm", name, check=False)
    # end part: containers
