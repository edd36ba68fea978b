"""docs/production.md's steps, really run: `.env.production` from the example, `make build`,
`make up`, `make down`, on Podman (ENGINE=podman, its Docker-compatible API socket) and on Docker
(ENGINE=docker, a dockerd of the test's own: tests/containers/docker_engine.py), each in a copy of
this checkout (so a developer's own .env.production is never touched).

What stands in for what is not at hand here (tests/containers/compose_engine.py says how):
- postgres:18-bookworm and valkey/valkey:9-bookworm, the official images compose.yaml names:
  where no registry answers, local images of the same Postgres 18 and Valkey 9 builds uv.lock
  gives the dev stack (tests/containers/standins), which honour
  POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, the data directories as volumes, the health
  check commands, and a non-root server in the foreground;
- python:3.11-slim-bookworm, the Dockerfile's base: tests/containers/engine.py's stand-in;
- systemd's timers, which run podman's health checks on a machine with systemd: HealthTimer
  (dockerd runs its own).
Everything else is the project's own: the Makefile, scripts/compose.sh, the compose CLI from
.venv, compose.yaml, the Dockerfile's runtime image, .env.production.example.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.components import COMPONENTS
from tests.containers.compose_engine import ApiService, HealthTimer, http, start_intervals
from tests.containers.docker_engine import HOME as DOCKER_HOME
from tests.containers.docker_engine import DockerDaemon
from tests.containers.engine import ENGINE_HOME, Podman
from tests.containers.production import (
    copy_checkout,
    finished_task,
    make,
    published_ports,
    user_round_trip,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.containers, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
# The copy's folder name is the compose project's name.
PROJECT = "fastapi-stack"
LONG_RUNNING = tuple(c.name for c in COMPONENTS if c.name != "migrate")
AFTER_MIGRATE = tuple(name for name in ("api", "worker", "beat") if name in LONG_RUNNING)
HEALTHY_SECONDS = 300


Engine = Callable[..., subprocess.CompletedProcess[str]]  # a Podman or a DockerDaemon


class Deployment:
    """The commands of docs/production.md in a copy (`checkout`), on this run's engine; `service` is
    podman's API service (its network namespace holds the published ports), None for Docker
    (they are on the machine's loopback)."""

    def __init__(
        self, engine: Engine, service: ApiService | None, env: dict[str, str], checkout: Path
    ) -> None:
        self.engine = engine
        self.service = service
        self.env = env
        self.checkout = checkout

    def make(self, target: str, timeout: float = 1800) -> float:
        return make(self.checkout, target, self.env, timeout=timeout, describe=self.describe)

    def compose(self, *args: str) -> None:
        subprocess.run(
            ["scripts/compose.sh", "compose", *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            timeout=300,
            check=True,
        )

    def containers(self) -> dict[str, list[dict[str, Any]]]:
        """{service: [inspected container, ...]} of the project's containers."""
        ids = self.engine(
            "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT}"
        ).stdout.split()
        found: dict[str, list[dict[str, Any]]] = {}
        if ids:
            for container in json.loads(self.engine("inspect", *ids).stdout):
                service = container["Config"]["Labels"]["com.docker.compose.service"]
                found.setdefault(service, []).append(container)
        return found

    def describe(self) -> str:
        """Each container's state, and the last output of a failing health check."""
        lines = []
        for group in self.containers().values():
            for c in group:
                lines.append(f"{c['Name']}: {c['State']['Status']} exit {c['State']['ExitCode']}")
                lines[-1] += f" {health(c)}"
                log = (c["State"].get("Health") or c["State"].get("Healthcheck") or {}).get("Log")
                if health(c) != "healthy" and log:
                    lines.append(f"    last check: exit {log[-1]['ExitCode']}: {log[-1]['Output']}")
        return "\n".join(lines)

    def all_healthy(self) -> bool:
        state = self.containers()
        return all(
            state.get(name) and all(health(c) == "healthy" for c in state[name])
            for name in LONG_RUNNING
        )

    def volume(self, name: str) -> Path:
        inspected = json.loads(self.engine("volume", "inspect", f"{PROJECT}_{name}").stdout)
        return Path(inspected[0]["Mountpoint"])

    def api(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.env['API_PUBLISHED_PORT']}{path}"
        send = http if self.service is None else self.service.http
        status, _, answer = send(method, url, body, headers)
        return status, answer


def health(container: dict[str, Any]) -> str:
    state = container["State"]
    return str((state.get("Health") or state.get("Healthcheck") or {}).get("Status", "none"))


def started_at(container: dict[str, Any]) -> str:
    return str(container["State"]["StartedAt"])


@pytest.fixture
def deployment(
    podman: Podman, service_images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> Iterator[Deployment]:
    builds = Podman(podman.program, {**podman.selection, "BUILDAH_ISOLATION": "chroot"})
    checkout = ENGINE_HOME / "compose-test" / PROJECT
    copy_checkout(checkout)
    service = ApiService(podman)
    service.start()
    env = published_ports({**builds.env(), "ENGINE": "podman", "DOCKER_HOST": service.docker_host})
    inside = service.podman()
    deployment = Deployment(inside, service, env, checkout)
    with capsys.disabled():
        print(f"\n[compose] stand-ins: {service_images}, engine podman via {service.docker_host}")
    try:
        deployment.compose("down", "--volumes", "--remove-orphans")  # what a failed run left
        with HealthTimer(inside, start_intervals()):
            yield deployment
    finally:
        try:
            deployment.compose("down", "--volumes", "--remove-orphans")
        finally:
            service.stop()


@pytest.fixture
def docker_deployment(
    docker: DockerDaemon, capsys: pytest.CaptureFixture[str]
) -> Iterator[Deployment]:
    checkout = DOCKER_HOME / "compose-test" / PROJECT
    copy_checkout(checkout)
    env = docker.env(published_ports({**os.environ, "ENGINE": "docker"}))
    deployment = Deployment(docker, None, env, checkout)
    with capsys.disabled():
        print(f"\n[compose] engine docker via {docker.host}")
    deployment.compose("down", "--volumes", "--remove-orphans")  # what a failed run left
    try:
        yield deployment
    finally:
        deployment.compose("down", "--volumes", "--remove-orphans")


def test_make_build_up_down_on_podman(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    build_up_down(deployment, capsys)


def test_make_build_up_down_on_docker(
    docker_deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    build_up_down(docker_deployment, capsys)


def build_up_down(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's steps, and what they must show."""

    def say(fact: str) -> None:
        with capsys.disabled():
            print(f"[compose] {fact}")

    seconds = deployment.make("build")
    say(f"make build: {seconds:.1f}s")
    seconds = deployment.make("up")
    say(f"make up: {seconds:.1f}s")
    check_started_in_order(deployment, say)

    status, ready = deployment.api("GET", "/ready")
    assert status == 200, ready
    say(f"GET /ready: {status} {ready}")
    user_id, username = user_round_trip(deployment.api, "keeper")
    say(f"user {user_id} ({username}) created and read back")

    check_task_and_access_record(deployment, say)

    deployment.make("down")
    assert deployment.containers() == {}, deployment.describe()
    seconds = deployment.make("up")
    say(f"make down, make up again: {seconds:.1f}s")
    assert deployment.all_healthy(), deployment.describe()
    status, read = deployment.api("GET", f"/api/v1/users/{user_id}")
    assert (status, read["username"]) == (200, username), read
    say(f"after down/up: all {len(LONG_RUNNING)} services healthy, user {user_id} still there")

    check_killed_api_comes_back(deployment, say)

    deployment.make("down")
    check_nothing_left(deployment, say)


def check_started_in_order(deployment: Deployment, say: Callable[[str], None]) -> None:
    state = deployment.containers()
    for name in LONG_RUNNING:
        assert state.get(name), f"no {name} container:\n{deployment.describe()}"
        for container in state[name]:
            assert health(container) == "healthy", deployment.describe()
            assert container["State"]["Status"] == "running", deployment.describe()
    say("healthy: " + ", ".join(f"{name} x{len(state[name])}" for name in LONG_RUNNING))
    (migrate,) = state["migrate"]
    assert (migrate["State"]["Status"], migrate["State"]["ExitCode"]) == ("exited", 0)
    finished = migrate["State"]["FinishedAt"]
    for name in AFTER_MIGRATE:
        for container in state[name]:
            assert started_at(container) > finished, (name, started_at(container), finished)
    say(f"migrate exited 0 at {finished}, before {', '.join(AFTER_MIGRATE)} started")


def check_task_and_access_record(deployment: Deployment, say: Callable[[str], None]) -> None:
    request_id = f"compose-test-{uuid.uuid4().hex[:12]}"
    status, queued = deployment.api(
        "POST", "/api/v1/tasks/ping", None, **{"X-Request-ID": request_id}
    )
    assert status == 202, queued
    task = finished_task(deployment.api, queued["id"])
    assert (task["state"], task["result"]) == ("SUCCESS", "pong"), task
    say(f"task ping {queued['id']}: {task['state']} {task['result']!r}")

    # What the request left in the logserver's volume: its access record (the api's), and the
    # records of the worker that ran the task, which carry the same request id and the host
    # (container) that logged them.
    logs = deployment.volume("logs")
    found: dict[str, list[dict[str, Any]]] = {}

    def logged() -> bool:
        for stream in ("access", "worker"):
            found[stream] = [
                record
                for path in sorted((logs / stream).glob("*.jsonl"))
                for line in path.read_text().splitlines()
                if request_id in line
                for record in [json.loads(line)]
                if record.get("request_id") == request_id
            ]
        return all(found.values())

    wait_for(logged, timeout=60, what=f"the records of {request_id} in {logs}", interval=1)
    (access,) = found["access"]
    assert (access["method"], access["path"], access["status"]) == (
        "POST",
        "/api/v1/tasks/ping",
        202,
    ), access
    say(
        f"access record of request {request_id} in the logs volume: "
        f"{access['method']} {access['path']} {access['status']}"
    )
    workers = {c["Config"]["Hostname"]: c["Name"] for c in deployment.containers()["worker"]}
    hosts = {record["host"] for record in found["worker"]}
    assert len(hosts) == 1 and hosts <= set(workers), (hosts, workers)
    say(f"the task ran in worker container {workers[hosts.pop()]} (its records, same request id)")


def check_killed_api_comes_back(deployment: Deployment, say: Callable[[str], None]) -> None:
    (api,) = deployment.containers()["api"]
    pid, restarts = api["State"]["Pid"], api.get("RestartCount", 0)
    os.kill(pid, signal.SIGKILL)  # from outside the engine: a crash, not a stop
    say(f"killed the api container's process {pid} (SIGKILL)")

    def back() -> bool:
        (now,) = deployment.containers()["api"]
        return (
            now.get("RestartCount", 0) > restarts
            and now["State"]["Pid"] not in (0, pid)
            and health(now) == "healthy"
        )

    wait_for(
        back, timeout=HEALTHY_SECONDS, what="the killed api to be restarted and healthy", interval=2
    )
    (api,) = deployment.containers()["api"]
    status, _ = deployment.api("GET", "/ready")
    assert status == 200
    say(
        f"api restarted by its policy ({api['HostConfig']['RestartPolicy']['Name']}), "
        f"restart count {api['RestartCount']}, healthy, /ready {status}"
    )


def check_nothing_left(deployment: Deployment, say: Callable[[str], None]) -> None:
    assert deployment.containers() == {}, deployment.describe()
    networks = deployment.engine("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert [n for n in networks if n.startswith(PROJECT)] == [], networks
    if deployment.service is not None:
        service = deployment.service
        wait_for(
            lambda: not service.processes_in_namespace(),
            timeout=30,
            what="no process left in the engine's network namespace",
            interval=1,
        )
    volumes = deployment.engine("volume", "ls", "--format", "{{.Name}}").stdout.split()
    kept = sorted(v for v in volumes if v.startswith(f"{PROJECT}_"))
    assert kept, "make down dropped the volumes"
    say(f"make down: no container, no {PROJECT} network, no process left; volumes kept: {kept}")
    deployment.compose("down", "--volumes")
    volumes = deployment.engine("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert [v for v in volumes if v.startswith(f"{PROJECT}_")] == []
    say("volumes dropped (compose down --volumes)")
