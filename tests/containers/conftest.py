"""Fixtures of the `containers` tier: the engines (podman, configured under .state/containers;
a dockerd of this checkout's, under .state/docker) and the stand-in base images. A missing
engine fails these tests with the reason under CI; it never skips them silently."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.containers.compose_engine import stand_ins
from tests.containers.docker_engine import DockerDaemon, find_docker, load_from_podman
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


@pytest.fixture(scope="session")
def service_images(podman: Podman, base_images: tuple[str, str]) -> dict[str, str]:
    """{compose service: image} of postgres and redis: the official images' stand-ins."""
    builds = Podman(podman.program, {**podman.selection, "BUILDAH_ISOLATION": "chroot"})
    return stand_ins(builds, base_images[0])


@pytest.fixture(scope="session")
def docker(
    podman: Podman, base_images: tuple[str, str], service_images: dict[str, str]
) -> Iterator[DockerDaemon]:
    """This checkout's dockerd, holding the stand-ins (copied from podman's store); stopped at
    the end of the session, which fails if the machine is not left as it was."""
    find_docker()
    daemon = DockerDaemon()
    daemon.start()
    try:
        load_from_podman(daemon, podman, [*base_images, *service_images.values()])
        yield daemon
    finally:
        left = daemon.stop()
        if left:
            pytest.fail("dockerd left the machine changed:\n" + "\n".join(left), pytrace=False)
