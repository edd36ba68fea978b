"""The Docker engine of the `docker` tier: Debian's docker.io (dockerd 20.10 and its CLI, named
by path: another `docker` on PATH, a CLI with no daemon, is never used), run as a daemon of this
checkout's own, started and stopped by the tests.

- Its data root, exec root (the managed containerd's too), pid file, socket and configuration
  are under .state/docker; the machine's /etc/docker/daemon.json is never read.
- Its networks are this checkout's: a bridge link of its own (the name and the 10.N.0.0/16 range
  derive from a hash of the checkout's path) instead of docker0, and its address pools in the
  same range, so two checkouts' daemons never take the same name or subnet.
- Stopping it leaves the machine as it was: containers, networks and the swarm are removed, the
  daemon is stopped by its pid, its links deleted, and the iptables rules and DOCKER* chains it
  added (and the forwarding it turned on) undone (tests/containers/machine.py, which the tests
  compare the machine with).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.containers.engine import Podman
from tests.containers.machine import MachineState, restore
from tests.env.tools import Apt, run
from tests.support.processes import alive, wait_for
from tests.support.tiers import unavailable

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / ".state" / "docker"
DOCKERD = Path("/usr/sbin/dockerd")
DOCKER = Path("/usr/bin/docker")
APT_PACKAGES = ("docker.io", "iptables")


@dataclass(frozen=True)
class CheckoutNetwork:
    """The names and addresses of this checkout's daemon (see the module's docstring)."""

    bridge: str
    octet: int

    @classmethod
    def of(cls, checkout: Path = ROOT) -> CheckoutNetwork:
        digest = hashlib.sha256(str(checkout).encode()).digest()
        return cls(bridge=f"dk{digest.hex()[:10]}", octet=64 + digest[0] % 64)

    @property
    def bridge_address(self) -> str:
        return f"10.{self.octet}.255.1/24"

    @property
    def address_pool(self) -> str:
        return f"base=10.{self.octet}.0.0/17,size=24"

    @property
    def swarm_pool(self) -> str:
        return f"10.{self.octet}.128.0/18"

    @property
    def swarm_port(self) -> int:
        """The swarm's management port (--listen-addr), 2377 by default."""
        return 23700 + self.octet

    @property
    def data_path_port(self) -> int:
        """The swarm's VXLAN port (--data-path-port), 4789 by default."""
        return 47000 + self.octet


@dataclass
class DockerDaemon:
    """dockerd of this checkout (HOME), started by `start`, undone by `stop`."""

    home: Path = HOME
    network: CheckoutNetwork = field(default_factory=CheckoutNetwork.of)
    process: subprocess.Popen[bytes] | None = None
    before: MachineState | None = None

    @property
    def socket(self) -> Path:
        return self.home / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid_file(self) -> Path:
        return self.home / "docker.pid"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (the process environment by default) with this daemon and Debian's CLI first
        on PATH (scripts/compose.sh and `make stack` call `docker`)."""
        base = dict(os.environ if base is None else base)
        return {
            **base,
            "DOCKER_HOST": self.host,
            "DOCKER_CONFIG": str(self.home / "config"),
            "DOCKER_BUILDKIT": "1",
            "PATH": f"{self.home / 'bin'}{os.pathsep}{base.get('PATH', '')}",
        }

    def __call__(
        self, *args: str | os.PathLike[str], check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run([DOCKER, *args], check=check, timeout=timeout, env=self.env())

    def start(self) -> None:
        self._stop_an_earlier_run()
        self.before = MachineState.read()
        (self.home / "bin").mkdir(parents=True, exist_ok=True)
        (self.home / "config").mkdir(exist_ok=True)
        cli = self.home / "bin" / "docker"
        cli.unlink(missing_ok=True)
        cli.symlink_to(DOCKER)
        (self.home / "daemon.json").write_text("{}\n")
        bridge = self.network.bridge
        run(["ip", "link", "add", bridge, "type", "bridge"])
        run(["ip", "addr", "add", self.network.bridge_address, "dev", bridge])
        run(["ip", "link", "set", bridge, "up"])
        self.socket.unlink(missing_ok=True)
        log = (self.home / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            [
                DOCKERD,
                "--config-file",
                self.home / "daemon.json",
                "--data-root",
                self.home / "data",
                "--exec-root",
                self.home / "exec",
                "--pidfile",
                self.pid_file,
                "--host",
                self.host,
                "--storage-driver",
                "overlay2",
                "--bridge",
                bridge,
                "--default-address-pool",
                self.network.address_pool,
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while self("version", check=False, timeout=30).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.home / "dockerd.log").read_text(errors="replace")[-3000:]
                self.stop()
                pytest.fail(f"dockerd did not answer:\n{tail}", pytrace=False)
            time.sleep(0.5)

    def _stop_an_earlier_run(self) -> None:
        """A daemon that a killed test run left behind is stopped and undone first."""
        try:
            pid = int(self.pid_file.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            command = b""
        if command.startswith(str(DOCKERD).encode()) and str(self.home).encode() in command:
            self.before = None
            self.process = None
            self._remove_everything()
            self._end(pid)
        restore(MachineState.read() if self.before is None else self.before)
        # This checkout's bridge outlives a run killed with its daemon (SIGKILL): no other
        # checkout has its name, so it goes.
        if Path("/sys/class/net", self.network.bridge).exists():
            run(["ip", "link", "delete", self.network.bridge])

    def stop(self) -> list[str]:
        """Everything the daemon did is undone; the differences left (none, normally)."""
        if self.process is not None and self.process.poll() is None:
            self._remove_everything()
            self._end(self.process.pid)
        before = self.before or MachineState.read()
        restore(before)
        return before.differences(MachineState.read())

    def _remove_everything(self) -> None:
        self("swarm", "leave", "--force", check=False, timeout=120)
        ids = self("ps", "--all", "--quiet", check=False).stdout.split()
        if ids:
            self("rm", "--force", "--volumes", *ids, check=False, timeout=300)
        self("network", "prune", "--force", check=False)
        self("network", "rm", "docker_gwbridge", check=False)

    def _end(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        wait_for(
            lambda: not alive(pid),
            timeout=60,
            what=f"dockerd {pid} to stop",
            interval=0.5,
        )
        if self.process is not None:
            self.process.wait(timeout=10)


def find_docker() -> None:
    """Debian's docker.io, installed when missing. When it cannot run here the `docker` tier
    is not run (tests/support/tiers.py): reported at the end, a failure under CI."""
    how = "run as root (the tests install Debian's docker.io with apt-get), as CI does"
    if os.geteuid() != 0:
        unavailable("docker", "the tier starts its own dockerd, which needs root", how)
    if not (DOCKERD.exists() and DOCKER.exists()):
        problem = Apt.install(*APT_PACKAGES)
        if not (DOCKERD.exists() and DOCKER.exists()):
            unavailable("docker", f"{DOCKERD} or {DOCKER} missing: {problem}", how)


def podman_image_ids(podman: Podman, images: list[str]) -> dict[str, str]:
    """{image: its id} as podman stores it."""
    template = "{{.Id}}"
    return {
        image: podman("image", "inspect", "--format", template, image).stdout.strip()
        for image in images
    }


def load_from_podman(docker: DockerDaemon, podman: Podman, images: list[str]) -> list[str]:
    """The images (stand-ins, no registry here) copied from podman's store into the daemon's,
    `podman save | docker load`, those the daemon lacks or holds in another version; the
    names copied."""
    missing = []
    for image, image_id in podman_image_ids(podman, images).items():
        held = docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
        if held.stdout.strip().removeprefix("sha256:") != image_id:
            missing.append(image)
    if missing:
        archive = HOME / "images.tar"
        podman(
            "save",
            "--multi-image-archive",
            "--format",
            "docker-archive",
            "--output",
            archive,
            *missing,
            timeout=900,
        )
        docker("load", "--input", archive, timeout=900)
        archive.unlink()
    return missing
