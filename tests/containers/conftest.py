"""Fixtures of the `containers` tier: the engine (podman, configured under .state/containers)
and the stand-in base images. A missing engine fails these tests with the reason; it never
skips them."""

from __future__ import annotations

import pytest

from tests.containers.engine import Podman, find_podman, go_stand_in, python_stand_in


@pytest.fixture(scope="session")
def podman() -> Podman:
    engine = find_podman()
    engine.prune()
    return engine


@pytest.fixture(scope="session")
def base_images(podman: Podman) -> tuple[str, str]:
    """The Dockerfile's bases, python and golang, stood in by local images (built when missing)."""
    return python_stand_in(podman), go_stand_in(podman)
