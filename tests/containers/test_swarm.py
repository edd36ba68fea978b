"""`make stack` run for real on a one-node Docker Swarm of the tier's own dockerd
(tests/containers/docker_engine.py), from the image `make build` makes, in a copy of this
checkout.

The kernels here have no IPVS, so the routing mesh and service VIPs do not work: the stack is
deployed with SWARM_MESH=off (host-mode ports, dnsrr) and SWARM_PORTS=dynamic (each api task on a
free host port of the node), and the test's own client (tests/containers/balancer.py) spreads the
requests over the healthy api tasks, as a load balancer in front of a real cluster would. No
registry answers either: RESOLVE_IMAGE=never, and the new tag of the rolling update is local.

What it shows: api 2/2, worker 2/2, beat 1/1 and the others 1/1, healthy; migrate ran once, and
api, worker and beat began after it finished (their wait for the schema); a user created and read
back and a task round trip; a killed api task rescheduled while requests kept being answered; a
rolling `docker service update --image` without a failed request; and after `docker stack rm`
and `docker swarm leave`, the machine's iptables and links as they were before `swarm init`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.containers.balancer import Load
from tests.containers.compose_engine import http
from tests.containers.docker_engine import HOME, DockerDaemon
from tests.containers.machine import MachineState
from tests.containers.production import (
    ROOT,
    copy_checkout,
    finished_task,
    make,
    published_ports,
    user_round_trip,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.containers, pytest.mark.timeout(3600)]

STACK = "fastapi-stack"  # the Makefile's STACK
CHECKOUT = HOME / "swarm-test" / STACK
REPLICAS = {"api": 2, "postgres": 1, "redis": 1}
REPLICAS["logserver"] = 1  # part: logserver
REPLICAS |= {"worker": 2, "beat": 1}  # part: background
REPLICAS["flower"] = 1  # part: flower
AFTER_MIGRATE = tuple(name for name in ("api", "worker", "beat") if name in REPLICAS)
CONVERGE_SECONDS = 600
ROLLED_TAG = "fastapi-stack:rolled"
Figure = Callable[[str, object, str], None]  # (name, value, the line that says it)


class Swarm:
    """The stack on this checkout's daemon, as the test asks about it."""

    def __init__(self, docker: DockerDaemon, say: Callable[[str], None]) -> None:
        self.docker = docker
        self.say = say

    def containers(self, service: str, *filters: str) -> list[dict[str, Any]]:
        """The inspected containers of a service's tasks (`filters`: more `docker ps` filters)."""
        label = f"label=com.docker.swarm.service.name={STACK}_{service}"
        arguments = [argument for f in filters for argument in ("--filter", f)]
        ids = self.docker("ps", "--all", "--quiet", "--filter", label, *arguments).stdout.split()
        if not ids:
            return []
        return list(json.loads(self.docker("inspect", *ids).stdout))

    def replicas(self) -> dict[str, str]:
        listed = self.docker("stack", "services", STACK, "--format", "{{.Name}} {{.Replicas}}")
        return {
            name.removeprefix(f"{STACK}_"): replicas
            for name, replicas in (line.split()[:2] for line in listed.stdout.splitlines())
        }

    def converged(self) -> bool:
        """Every service at its replicas, and every task of theirs healthy."""
        replicas = self.replicas()
        if any(replicas.get(name) != f"{n}/{n}" for name, n in REPLICAS.items()):
            return False
        return all(
            len(self.containers(name, "health=healthy")) == n for name, n in REPLICAS.items()
        )

    def api_ports(self) -> list[int]:
        """The host ports of the healthy api tasks (what a load balancer would be told)."""
        return sorted(
            int(c["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
            for c in self.containers("api", "health=healthy")
            if (c["NetworkSettings"]["Ports"] or {}).get("8000/tcp")
        )

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, answer = http(method, f"http://127.0.0.1:{self.api_ports()[0]}{path}", body)
        return status, answer

    def describe(self) -> str:
        return self.docker("stack", "ps", STACK, "--no-trunc", check=False).stdout[-6000:]


def instant(text: str) -> datetime:
    """Docker's RFC 3339 time (nanoseconds, Z) as a datetime."""
    found = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", text)
    assert found, text
    return datetime.fromisoformat(f"{found[1]}{(found[2] or '.0')[:7]}+00:00")


@pytest.fixture
def swarm_env(docker: DockerDaemon) -> dict[str, str]:
    copy_checkout(CHECKOUT)
    env = published_ports({**os.environ, "ENGINE": "docker"})
    return docker.env(
        {
            **env,
            "APP_IMAGE": f"{STACK}:latest",
            "API_REPLICAS": str(REPLICAS["api"]),
            "WORKER_REPLICAS": str(REPLICAS["worker"]),  # part: background
            "SWARM_MESH": "off",
            "SWARM_PORTS": "dynamic",
            "RESOLVE_IMAGE": "never",
        }
    )


@pytest.fixture
def machine_before_swarm(docker: DockerDaemon) -> Iterator[MachineState]:
    """The machine's state before `swarm init`; whatever a failed test left is removed after."""
    before = MachineState.read()
    remove_volumes(docker)  # a failed run's: their Postgres has another run's password
    try:
        yield before
    finally:
        docker("stack", "rm", STACK, check=False)
        docker("swarm", "leave", "--force", check=False, timeout=120)
        docker("network", "rm", "docker_gwbridge", check=False)
        remove_volumes(docker)


def remove_volumes(docker: DockerDaemon) -> None:
    """The stack's named volumes (`docker stack rm` keeps them), once no container uses them."""
    label = f"label=com.docker.stack.namespace={STACK}"

    def gone() -> bool:
        names = docker("volume", "ls", "--quiet", "--filter", label).stdout.split()
        if names:
            docker("volume", "rm", *names, check=False)  # in use until the containers are gone
        return not names

    wait_for(gone, timeout=120, what=f"the {STACK} volumes to be removed", interval=2)


def test_make_stack_on_a_one_node_swarm(
    docker: DockerDaemon,
    swarm_env: dict[str, str],
    machine_before_swarm: MachineState,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    def say(fact: str) -> None:
        with capsys.disabled():
            print(f"[swarm] {fact}")

    def figure(name: str, value: object, fact: str) -> None:
        """A figure: a line of the output and a property of the JUnit report."""
        record_property(name, value)
        say(fact)

    swarm = Swarm(docker, say)
    seconds = make(CHECKOUT, "build", swarm_env, describe=swarm.describe)
    say(f"make build (ENGINE=docker): {seconds:.1f}s")
    network = docker.network
    docker(
        "swarm", "init", "--advertise-addr", "127.0.0.1",
        "--listen-addr", f"127.0.0.1:{network.swarm_port}",
        "--data-path-port", str(network.data_path_port),
        "--default-addr-pool", network.swarm_pool,
    )  # fmt: skip
    started = time.monotonic()
    make(CHECKOUT, f"stack BIN={ROOT / '.venv' / 'bin'}", swarm_env, describe=swarm.describe)
    wait_for(swarm.converged, timeout=CONVERGE_SECONDS, what="the stack to converge", interval=2)
    converged = time.monotonic() - started
    replicas = swarm.replicas()
    figure(
        "swarm_converge_seconds",
        round(converged, 1),
        f"make stack converged in {converged:.0f}s: "
        + ", ".join(f"{name} {replicas[name]}" for name in REPLICAS)
        + " (all healthy)",
    )

    check_migrate_ran_once_first(swarm)
    check_user_and_task(swarm)
    check_killed_api_task_is_rescheduled(swarm, figure)
    check_rolling_update(swarm, figure)
    check_removed_without_a_trace(swarm, machine_before_swarm)


def check_migrate_ran_once_first(swarm: Swarm) -> None:
    runs = swarm.containers("migrate")
    succeeded = [c for c in runs if (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 0)]
    assert len(succeeded) == 1, swarm.describe()
    began = instant(succeeded[0]["State"]["StartedAt"])
    finished = instant(succeeded[0]["State"]["FinishedAt"])
    for name in AFTER_MIGRATE:
        for container in swarm.containers(name, "status=running"):
            logs = swarm.docker("logs", "--timestamps", container["Id"]).stdout.splitlines()
            said = [line.split(" ", 1) for line in logs]
            assert said[0][1].startswith("schema: waiting for"), (name, logs[:10])
            at_head = [instant(stamp) for stamp, line in said if line == "schema: at head"]
            # The schema reaches head when migrate commits, a moment before its process exits.
            assert at_head and at_head[0] >= began, (name, logs[:10], began)
    swarm.say(
        f"migrate: {len(runs)} run(s), 1 succeeded ({began:%X.%f}-{finished:%X.%f}); "
        f"{', '.join(AFTER_MIGRATE)} waited and saw the schema at head only after it began"
    )


def check_user_and_task(swarm: Swarm) -> None:
    user_id, _ = user_round_trip(swarm.api, "swarm")
    status, queued = swarm.api("POST", "/api/v1/tasks/ping")
    assert status == 202, queued
    task = finished_task(swarm.api, queued["id"])
    assert (task["state"], task["result"]) == ("SUCCESS", "pong"), task
    swarm.say(f"user {user_id} created and read back; task ping: {task['state']} 'pong'")


def check_killed_api_task_is_rescheduled(swarm: Swarm, figure: Figure) -> None:
    before = {c["Id"] for c in swarm.containers("api", "status=running")}
    victim = swarm.containers("api", "health=healthy")[0]

    def kill() -> None:
        os.kill(victim["State"]["Pid"], signal.SIGKILL)  # a crash, not a stop

    def rescheduled() -> bool:
        healthy = {c["Id"] for c in swarm.containers("api", "health=healthy")}
        return len(healthy) == REPLICAS["api"] and victim["Id"] not in healthy

    seconds, load = under_load(swarm, kill, rescheduled, "the api task rescheduled")
    assert {c["Id"] for c in swarm.containers("api", "status=running")} - before
    report(figure, "reschedule", seconds, load, f"killed api task {victim['Name']} (SIGKILL)")


def check_rolling_update(swarm: Swarm, figure: Figure) -> None:
    swarm.docker("tag", f"{STACK}:latest", ROLLED_TAG)

    def update() -> None:
        swarm.docker(
            "service", "update", "--detach=false", "--no-resolve-image",
            "--image", ROLLED_TAG, f"{STACK}_api",
            timeout=CONVERGE_SECONDS,
        )  # fmt: skip

    def rolled() -> bool:
        healthy = swarm.containers("api", "health=healthy")
        images = {c["Config"]["Image"].split("@")[0] for c in healthy}
        return len(healthy) == REPLICAS["api"] and images == {ROLLED_TAG}

    seconds, load = under_load(swarm, update, rolled, "both api tasks on the new tag")
    what = f"rolling update of api to {ROLLED_TAG} (start-first, 1 at a time)"
    report(figure, "rolling_update", seconds, load, what)


def under_load(
    swarm: Swarm, action: Callable[[], None], done: Callable[[], bool], what: str
) -> tuple[float, Load]:
    """`action` while the balancer sends requests (from 20 before it to 20 after `done`
    holds); the seconds from `action` to `done`, and the load's counts."""
    with Load(swarm.api_ports) as load:
        wait_for(lambda: load.total >= 20, timeout=60, what="requests before the change")
        started = time.monotonic()
        action()
        wait_for(done, timeout=CONVERGE_SECONDS, what=what, interval=0.5)
        seconds = time.monotonic() - started
        total = load.total
        wait_for(lambda: load.total >= total + 20, timeout=60, what="requests after it")
    return seconds, load


def report(figure: Figure, name: str, seconds: float, load: Load, what: str) -> None:
    """The figures of a change under load; no request may have failed."""
    figure(f"swarm_{name}_seconds", round(seconds, 1), f"{what}: done in {seconds:.0f}s")
    figure(f"swarm_{name}_requests", load.total, f"  meanwhile {load.summary()}")
    figure(f"swarm_{name}_failed", load.failed, f"  failed requests: {load.failed}")
    assert load.failed == 0, load.failures[:20]


def check_removed_without_a_trace(swarm: Swarm, before: MachineState) -> None:
    docker = swarm.docker
    # Docker 20.10's `stack rm` removes the services and then, at once, their network, which
    # fails while a task is still stopping ("is in use by task"); a `stack rm` once the tasks are
    # gone removes it. Any other failure fails here.
    removed = docker("stack", "rm", STACK, check=False)
    assert removed.returncode == 0 or "is in use by task" in removed.stderr, removed.stderr

    def gone() -> bool:
        label = f"label=com.docker.stack.namespace={STACK}"
        if docker("ps", "--all", "--quiet", "--filter", label).stdout.split():
            return False
        if STACK in docker("network", "ls", "--format", "{{.Name}}").stdout:
            docker("stack", "rm", STACK, check=False)  # the wait fails if it never goes
            return False
        return True

    wait_for(gone, timeout=300, what="the stack's containers and networks to go", interval=1)
    docker("swarm", "leave", "--force", timeout=120)
    docker("network", "rm", "docker_gwbridge")  # the swarm's bridge outlives `swarm leave`
    after = MachineState.read()
    assert before.differences(after) == [], before.differences(after)
    swarm.say(
        f"stack rm, swarm leave: iptables ({len(after.iptables)} lines) and links "
        f"({', '.join(after.links)}) identical to before swarm init"
    )
