"""The tools the environment checks run, installed when missing (apt-get as root, npm), else
skipped saying why; caches under .state/env-tests/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tiers import unavailable

ROOT = Path(__file__).resolve().parents[2]


CACHE = ROOT / ".state" / "env-tests"


NIXPKGS_STUB = Path(__file__).resolve().parent / "nixpkgs_stub"  # part: flake


VENV_BIN = Path(sys.executable).parent


DEVCONTAINER_CLI = "@devcontainers/cli@0.89.0"  # part: devcontainer


# part: containers
# The root filesystem of the stand-in base images (tests/containers/engine.py): Debian bookworm
# with its Python 3.11 (no registry is reachable); rebuilt when this recipe changes.
BASE_SUITE = "bookworm"


BASE_PACKAGES = "python3-venv,ca-certificates"


RUNTIME_IMAGE = "localhost/fastapi-stack:env-test"
# end part: containers


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    check: bool = True,
    timeout: float = 120,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs `argv` to completion; a failure (with `check`) shows the command and its output."""
    result = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=env,
        input=input,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{' '.join(map(str, argv))}` exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result


class Apt:
    """Installs Debian packages for the checks, once per session, as root only."""

    updated = False

    @classmethod
    def install(cls, *packages: str) -> str | None:
        """None when installed; otherwise why they could not be."""
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            return f"needs root and apt-get to install {' '.join(packages)}"
        CACHE.mkdir(parents=True, exist_ok=True)
        log = CACHE / "apt.log"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with log.open("a") as output, _no_service_starts():
            # Another apt-get (another checkout's tests) may hold the lock: wait for it.
            wait = ["-o", "DPkg::Lock::Timeout=300"]
            steps = [] if cls.updated else [["apt-get", *wait, "update", "-q"]]
            steps.append(["apt-get", *wait, "install", "-y", "-q", *packages])
            for step in steps:
                if subprocess.run(
                    step, stdout=output, stderr=output, env=env, check=False
                ).returncode:
                    return f"`{' '.join(step)}` failed (see {log.relative_to(ROOT)})"
        cls.updated = True
        return None


POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


@contextmanager
def _no_service_starts() -> Iterator[None]:
    """A package's postinst starts no service (docker.io's would start a dockerd on a machine
    without systemd): policy-rc.d says no while apt-get runs, unless the machine has its own."""
    if POLICY_RC_D.exists():
        yield
        return
    POLICY_RC_D.write_text("#!/bin/sh\n# Written by tests/env/tools.py during apt-get.\nexit 101\n")
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC_D.unlink(missing_ok=True)


def installed(command: str, apt_package: str, *, tier: str) -> str:
    """The path of `command`, installed from Debian when missing; when it cannot be, the tier
    `tier` cannot run here (tests/support/tiers.py: reported at the end, a failure under CI)."""
    found = shutil.which(command)
    if found is None:
        problem = Apt.install(apt_package)
        found = shutil.which(command)
        if found is None:
            unavailable(
                tier,
                f"{command} is missing and could not be installed: {problem}",
                f"install {command} (Debian: apt-get install {apt_package}), or run as root",
            )
    return found


# part: flake
@dataclass(frozen=True)
class Nix:
    """Debian's nix-bin with its store and caches in .state/env-tests/nix, flakes enabled."""

    bin_dir: Path
    home: Path

    def env(self) -> dict[str, str]:
        xdg = {
            name: str(self.home / name.lower())
            for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")
        }
        return {**os.environ, **xdg, "NIX_CONFIG": "experimental-features = nix-command flakes"}

    def __call__(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(
            [self.bin_dir / "nix", "--store", self.home / "store", *args],
            env=self.env(),
            check=check,
        )

    def parse(self, path: Path) -> subprocess.CompletedProcess[str]:
        return run(
            [self.bin_dir / "nix-instantiate", "--store", self.home / "store", "--parse", path],
            env=self.env(),
        )

    def eval(
        self,
        flake: Path,
        attribute: str,
        *options: str,
        stub: Path = NIXPKGS_STUB,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`nix eval` of `flake#attribute` with nixpkgs replaced by the stub (nothing fetched)."""
        return self(
            "eval",
            "--no-write-lock-file",
            f"path:{flake}#{attribute}",
            "--override-input",
            "nixpkgs",
            f"path:{stub}",
            *options,
            check=check,
        )
        # end part: flake


# part: devcontainer
DOCKER_STUB = """#!/bin/sh
# No Docker daemon here: there are no containers, and nothing else is answered.
[ "$1" = ps ] && exit 0
echo "docker stub (tests/env): no daemon for: $*" >&2
exit 1
"""


@dataclass(frozen=True)
class DevcontainerCli:
    program: Path
    docker_stub: Path
    home: Path

    def __call__(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """The CLI with the Docker stub, its temporary files kept in the checkout."""
        tmp = self.home / "tmp"
        tmp.mkdir(exist_ok=True)
        return run(
            [self.program, *args, "--docker-path", self.docker_stub],
            env={**os.environ, "TMPDIR": str(tmp)},
        )


def install_devcontainer_cli() -> DevcontainerCli | str:
    """The real @devcontainers/cli from npm, in .state/env-tests/devcontainer-cli; or why it
    cannot be installed."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        problem = Apt.install("nodejs", "npm")
        if shutil.which("npm") is None:
            return f"npm is missing and could not be installed: {problem}"
    node_major = int(run(["node", "-p", "process.versions.node.split('.')[0]"]).stdout)
    if node_major < 20:
        return f"{DEVCONTAINER_CLI} needs Node.js 20 or later; this machine has {node_major}"
    home = CACHE / "devcontainer-cli"
    program = home / "node_modules" / ".bin" / "devcontainer"
    version = DEVCONTAINER_CLI.rsplit("@", 1)[1]
    if not program.exists() or version not in run([program, "--version"], check=False).stdout:
        home.mkdir(parents=True, exist_ok=True)
        result = run(
            [
                "npm",
                "install",
                "--prefix",
                home,
                "--cache",
                CACHE / "npm-cache",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                DEVCONTAINER_CLI,
            ],
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            return f"npm could not install {DEVCONTAINER_CLI}: {result.stderr.strip()[-500:]}"
    stub = home / "docker-stub"
    stub.write_text(DOCKER_STUB)
    stub.chmod(0o755)
    return DevcontainerCli(program, stub, home)
    # end part: devcontainer


# part: containers
@dataclass(frozen=True)
class Buildah:
    """buildah on the container tier's engine home (.state/containers: podman's configuration
    and store, so images built here are podman's too), chroot isolation."""

    program: str
    selection: dict[str, str]  # the engine's configuration, tests/containers/engine.configure()

    def command(self, *args: str | Path) -> list[str]:
        return [self.program, *map(str, args)]

    def env(self) -> dict[str, str]:
        """The engine's configuration; its temporary files (and RUN cache mounts) in the
        checkout too, not in /var/tmp."""
        return {**os.environ, **self.selection}

    def __call__(
        self, *args: str | Path, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args), check=check, timeout=timeout, env=self.env())

    def build(self, *args: str | Path) -> str:
        """`buildah bud` with cached steps."""
        return self(
            "bud",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "--layers",
            "--pull=never",
            *args,
            timeout=900,
        ).stdout


def debootstrap_base(folder: Path) -> Path:
    """A tarball of a minimal Debian with Python, made once and kept in `folder`."""
    tarball = folder / f"{BASE_SUITE}-{BASE_PACKAGES.replace(',', '+')}.tar"
    if tarball.exists():
        return tarball
    debootstrap = installed("debootstrap", "debootstrap", tier="containers")
    rootfs = folder / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    run(
        [
            debootstrap,
            "--variant=minbase",
            f"--include={BASE_PACKAGES}",
            BASE_SUITE,
            rootfs,
            "http://deb.debian.org/debian",
        ],
        timeout=900,
    )
    for leftover in (
        "var/cache/apt/archives",
        "var/lib/apt/lists",
        "usr/share/doc",
        "usr/share/man",
        "usr/share/locale",
    ):
        shutil.rmtree(rootfs / leftover, ignore_errors=True)
    # The host's CA bundle: TLS to the package index may pass a proxy that the host trusts.
    shutil.copyfile(
        "/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt"
    )
    run(["tar", "-C", rootfs, "-cf", tarball.with_suffix(".partial"), "."], timeout=300)
    tarball.with_suffix(".partial").rename(tarball)
    shutil.rmtree(rootfs)
    return tarball
    # end part: containers
