"""The Docker engine: Debian's dockerd 20.10 of this checkout (tests/containers/docker_engine.py)
keeps its data in the checkout, uses its own bridge, runs the stand-ins by their official names,
publishes on 127.0.0.1, and is undone without a trace (the `docker` fixture checks that)."""

from __future__ import annotations

import socket

import pytest

from tests.containers.docker_engine import HOME, DockerDaemon
from tests.containers.machine import MachineState
from tests.support.processes import free_port, wait_for

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]


def test_the_daemon_is_the_checkouts(docker: DockerDaemon) -> None:
    info = docker(
        "info", "--format", "{{.ServerVersion}} {{.DockerRootDir}} {{.Driver}}"
    ).stdout.split()
    assert info[0].startswith("20.10."), info
    assert info[1:] == [str(HOME / "data"), "overlay2"], info
    assert docker.network.bridge in MachineState.read().links
    bridge = docker("network", "inspect", "bridge", "--format", "{{json .Options}}").stdout
    assert docker.network.bridge in bridge


def test_a_stand_in_runs_and_publishes_on_loopback(
    docker: DockerDaemon, base_images: tuple[str, str]
) -> None:
    port = free_port()
    name = "fastapi-stack-engine-test"
    docker("rm", "--force", name, check=False)
    docker(
        "run",
        "--detach",
        "--rm",
        "--name",
        name,
        "--publish",
        f"127.0.0.1:{port}:8000",
        "--pull=never",
        base_images[0],
        "python",
        "-m",
        "http.server",
        "8000",
    )
    try:

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
                    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    return client.recv(12).startswith(b"HTTP/1.0 200")
            except OSError:
                return False

        wait_for(answers, timeout=60, what=f"the container's server on 127.0.0.1:{port}")
    finally:
        docker("rm", "--force", name, check=False)
