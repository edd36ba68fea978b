"""The devcontainer as VS Code brings it up: the real Dev Containers CLI runs `devcontainer up`
on podman for a fresh copy of the checkout, its devcontainer.json and Dockerfile as they are;
then, inside, `make dev` serves, reloads and stops clean, and `DEBUG=api make dev` stops a DAP
client at a breakpoint. Each step's outcome goes to .state/containers/devcontainer/test.log.

Run alone: `.venv/bin/pytest tests/containers/test_devcontainer.py` (the first run on a machine
builds the stand-in bases and the dev image: several minutes; later runs reuse their layers).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx2 as httpx
import pytest

from core.settings import DEFAULT_PORTS, ROOT
from tests.containers.engine import ENGINE_HOME, Podman
from tests.containers.forward import Forward
from tests.debug.sessions import attach, attach_config, follow_subprocesses, line_of, stopped_frame
from tests.env import dockerfile
from tests.env.tools import install_devcontainer_cli, run
from tests.support.checkout import fresh_copy

pytestmark = [pytest.mark.containers, pytest.mark.timeout(2400)]

WORK = ENGINE_HOME / "devcontainer"
# A fixed path: the CLI names the image after the workspace folder, so a second run reuses it.
WORKSPACE = WORK / "workspace"
LOG = WORK / "test.log"
# No build argument is forced: the image is built with devcontainer.json's own pins.
BUILD_ARGS = ""
# devcontainer.json is JSONC (comments, `dev prune`'s markers after values): the pin is read as
# text rather than parsed.
PINNED = re.search(
    r'"PROCESS_COMPOSE_VERSION":\s*"([^"]+)"',
    (ROOT / ".devcontainer" / "devcontainer.json").read_text(),
)[1]  # type: ignore[index]
GREETING = Path("app/api/routes/benchmark.py")
GREETING_LINE = 'message = f"Hello, {name}!"'
STACK_SECONDS = 180


def log(step: str, **details: Any) -> None:
    with LOG.open("a") as out:
        out.write(f"{time.strftime('%H:%M:%S')} {step} {json.dumps(details)}\n")


@dataclass
class DevContainer:
    cli: Path
    shim: Path
    podman: Podman
    container_id: str
    folder: PurePosixPath  # the workspace inside

    def exec_argv(self, *argv: str, remote_env: dict[str, str] | None = None) -> list[str]:
        env_options = [
            option
            for name, value in (remote_env or {}).items()
            for option in ("--remote-env", f"{name}={value}")
        ]
        return [
            str(self.cli),
            "exec",
            "--docker-path",
            str(self.shim),
            "--workspace-folder",
            str(WORKSPACE),
            *env_options,
            *argv,
        ]

    def exec(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`devcontainer exec`, as the remote user in the workspace folder."""
        return run(self.exec_argv(*argv), env=self.podman.env(), timeout=timeout)

    def inside(self, *args: str, timeout: float = STACK_SECONDS + 60) -> dict[str, Any]:
        """One command of tests/containers/inside.py, run in the container: its JSON answer."""
        output = self.exec(
            ".venv/bin/python", "-m", "tests.containers.inside", *args, timeout=timeout
        ).stdout
        answer: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        return answer

    def forward(self, port: int) -> Forward:
        """The container's loopback `port` on a free host port, as VS Code forwards it."""
        relay = [
            self.podman.program,
            "exec",
            "-i",
            "--user",
            "dev",
            "--workdir",
            str(self.folder),
            self.container_id,
            ".venv/bin/python",
            "-m",
            "tests.containers.inside",
            "relay",
            str(port),
        ]
        return Forward(relay, self.podman.env())


def remote_uid() -> str:
    dev = dockerfile.stages(ROOT / "Dockerfile")["dev"]
    return next(
        arg.arguments.partition("=")[2]
        for arg in dev.all("ARG")
        if arg.arguments.startswith("DEV_UID=")
    )


def write_shim(podman: Podman) -> Path:
    shim = WORK / "podman"
    shim.write_text(
        "#!/bin/sh\n"
        f"export SHIM_PODMAN={podman.program} SHIM_BUILD_ARGS='{BUILD_ARGS}' "
        f"SHIM_REMOTE_UID={remote_uid()}\n"
        f'exec {ROOT / ".venv/bin/python"} {ROOT / "tests/containers/podman_shim.py"} "$@"\n'
    )
    shim.chmod(0o755)
    return shim


@pytest.fixture(scope="module")
def devcontainer(podman: Podman, base_images: tuple[str, str]) -> Iterator[DevContainer]:
    cli = install_devcontainer_cli()
    if isinstance(cli, str):
        pytest.fail(cli, pytrace=False)
    WORK.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    fresh_copy(WORKSPACE)
    shim = write_shim(podman)
    volumes_before = set(podman("volume", "ls", "--quiet").stdout.split())
    started = time.monotonic()
    up = subprocess.run(
        [
            cli.program,
            "up",
            "--docker-path",
            shim,
            "--workspace-folder",
            WORKSPACE,
            "--remove-existing-container",
        ],
        env=podman.env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    (WORK / "up.log").write_text(up.stderr)
    outcome: dict[str, Any] = json.loads(up.stdout.strip().splitlines()[-1] or "{}")
    log(
        "devcontainer up",
        outcome=outcome.get("outcome"),
        seconds=round(time.monotonic() - started),
        remoteUser=outcome.get("remoteUser"),
    )
    assert outcome.get("outcome") == "success", f"{outcome}\n{up.stderr[-4000:]}"
    container = DevContainer(
        cli.program,
        shim,
        podman,
        outcome["containerId"],
        PurePosixPath(outcome["remoteWorkspaceFolder"]),
    )
    try:
        yield container
    finally:
        podman("rm", "--force", "--volumes", container.container_id, timeout=120)
        left = podman("ps", "--all", "--quiet", "--filter", f"id={container.container_id}").stdout
        new_volumes = set(podman("volume", "ls", "--quiet").stdout.split()) - volumes_before
        log("container removed", left=left.split(), new_volumes=sorted(new_volumes))
        assert not left.strip() and not new_volumes


def test_up_built_the_dev_target_and_bootstrapped_as_dev(devcontainer: DevContainer) -> None:
    up_log = (WORK / "up.log").read_text()
    assert "Running the postCreateCommand from devcontainer.json" in up_log
    assert "==> bootstrap done" in up_log
    who = devcontainer.exec("sh", "-c", "id -un; stat -c %U .venv .env; process-compose version")
    lines = who.stdout.split("\n")
    assert lines[:3] == ["dev", "dev", "dev"], who.stdout
    assert PINNED in who.stdout, (PINNED, who.stdout)
    log("postCreateCommand", user=lines[0], venv_owner=lines[1])


def start_stack(devcontainer: DevContainer, name: str, **remote_env: str) -> subprocess.Popen[str]:
    with (WORK / f"{name}.log").open("w") as out:
        stack = subprocess.Popen(
            devcontainer.exec_argv("make", "dev", remote_env=remote_env),
            env=devcontainer.podman.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    ready = devcontainer.inside("ready", str(STACK_SECONDS))
    log(f"{name}: every process Ready", **ready)
    assert ready["ready"], (ready, (WORK / f"{name}.log").read_text()[-4000:])
    return stack


def stop_stack(devcontainer: DevContainer, stack: subprocess.Popen[str], name: str) -> None:
    devcontainer.exec("make", "down")
    code = stack.wait(timeout=90)
    alive = devcontainer.inside("stack-processes")["alive"]
    log(f"{name}: make down", make_dev_exit=code, stack_processes_left=alive)
    assert code == 0, (WORK / f"{name}.log").read_text()[-4000:]
    assert alive == {}


def check_workspace_owner() -> None:
    """What bootstrap and the stack wrote is the host user's: updateRemoteUserUID gives `dev`
    the host user's uid; for root, which has uid 0 already, podman_shim.py maps root to dev."""
    written = (".venv", ".venv/bin/python", ".env", ".state", ".state/postgres", ".state/logs")
    owners = {name: (WORKSPACE / name).lstat().st_uid for name in written}
    log("workspace owners", host_uid=os.getuid(), owners=owners)
    assert set(owners.values()) == {os.getuid()}, owners


def test_make_dev_serves_runs_tasks_reloads_stops_clean_as_the_host_user(
    devcontainer: DevContainer,
) -> None:
    stack = start_stack(devcontainer, "make-dev")
    try:
        ready = devcontainer.inside("get", "/ready")
        log("make-dev: /ready", status=ready["status"])
        assert ready["status"] == 200, ready
        ping = devcontainer.inside("ping", "60")
        log("make-dev: ping task", **ping)
        assert ping["task"]["state"] == "SUCCESS" and ping["task"]["result"] == "pong", ping
        # The edit is made inside, as VS Code's editor makes it, and put back the same way.
        for old, new in (("Hello, ", "Hello again, "), ("Hello again, ", "Hello, ")):
            reload = devcontainer.inside(
                "reload", str(GREETING), old, new, "/api/v1/user/greeting", new, "30"
            )
            log("make-dev: edit of app/ served", edit=f"{old!r} -> {new!r}", **reload)
            assert reload["served"], reload
    finally:
        stop_stack(devcontainer, stack, "make-dev")
    check_workspace_owner()


def greet(port: int, responses: list[httpx.Response]) -> threading.Thread:
    def request() -> None:
        responses.append(
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/user/greeting",
                params={"name": "Debugger"},
                timeout=60,
            )
        )

    thread = threading.Thread(target=request)
    thread.start()
    return thread


def test_breakpoint_in_the_greeting_handler_under_debug_api(devcontainer: DevContainer) -> None:
    stack = start_stack(devcontainer, "debug-api", DEBUG="api")
    route = devcontainer.folder / GREETING
    line = line_of(WORKSPACE / GREETING, GREETING_LINE)
    breakpoints: dict[Path, list[int]] = {Path(route): [line]}
    try:
        with (
            devcontainer.forward(DEFAULT_PORTS["debug_port_api"]) as debug,
            devcontainer.forward(DEFAULT_PORTS["api_port"]) as api,
        ):
            parent = attach(debug.port, attach_config(debug.port), breakpoints)
            sessions = [parent]
            try:
                sessions += follow_subprocesses(parent, debug.port, breakpoints)
                responses: list[httpx.Response] = []
                thread = greet(api.port, responses)
                session, frame, local_variables = stopped_frame(sessions, timeout=60)
                log(
                    "debug-api: breakpoint hit",
                    path=frame["source"]["path"],
                    line=frame["line"],
                    name=local_variables["name"]["value"],
                )
                assert (frame["source"]["path"], frame["line"]) == (str(route), line)
                assert responses == [], "the request finished while stopped at the breakpoint"
                session.request("continue", {"threadId": frame["threadId"]})
                thread.join(timeout=30)
                log(
                    "debug-api: request after continue",
                    status=responses[0].status_code,
                    body=responses[0].json(),
                )
                assert responses[0].status_code == 200
                assert responses[0].json() == {"message": "Hello, Debugger!"}
            finally:
                for session in sessions:
                    session.close()
    finally:
        stop_stack(devcontainer, stack, "debug-api")
