"""The container engine of the `containers` tier: Debian's podman with runc, its configuration,
storage and run state under .state/containers (the machine's /etc/containers is never read for
them nor changed), and local stand-ins for the images the Dockerfile starts from.

No registry serves images here, so the stand-ins carry exactly the names the Dockerfile uses
(`docker.io/library/python:3.11-slim-bookworm`, `docker.io/library/golang:1.25-bookworm`) and a
`FROM` finds them with pull never. They are built once per machine, when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.env.tools import CACHE, Apt, debootstrap_base, run
from tests.support.tiers import unavailable

ROOT = Path(__file__).resolve().parents[2]
ENGINE_HOME = ROOT / ".state" / "containers"
# What rootful podman needs here: crun fails on these hybrid-cgroup machines, runc works.
# netavark, its network backend, sets up every container's network (a build's RUN steps too)
# with iptables, which Debian does not install with it: without it, each fails with a bare
# "netavark: No such file or directory".
APT_PACKAGES = ("podman", "runc", "netavark", "aardvark-dns", "catatonit", "iptables")
REQUIRED_TOOLS = ("podman", "runc", "iptables")

PYTHON_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
GO_IMAGE = "docker.io/library/golang:1.25-bookworm"
HOST_GOROOT = Path("/usr/local/go")
# Bumped when a stand-in's recipe changes, so that a cached one is rebuilt.
STAND_IN_RECIPE = "1"

PYTHON_CONTAINERFILE = """FROM scratch
ADD {tarball} /
RUN ln -s /usr/bin/python3.11 /usr/local/bin/python \\
    && ln -s /usr/bin/python3.11 /usr/local/bin/python3
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
LABEL fastapi-stack.stand-in={recipe}
CMD ["python3"]
"""
# The host's Go toolchain, copied in through a build volume (the context stays empty).
GO_CONTAINERFILE = """FROM {python_image}
RUN cp -a /host-go /usr/local/go
ENV PATH=/usr/local/go/bin:/go/bin:$PATH GOPATH=/go GOTOOLCHAIN=local
LABEL fastapi-stack.stand-in={recipe}
CMD ["go", "version"]
"""


def containers_conf(home: Path) -> str:
    return f"""# Written by tests/containers/engine.py: podman's settings for this checkout only.
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{home}/events.log"
lock_type = "file"
tmp_dir = "{home}/libpod"
static_dir = "{home}/storage/libpod"
volume_path = "{home}/storage/volumes"
image_copy_tmp_dir = "{home}/tmp"

[network]
network_backend = "netavark"
network_config_dir = "{home}/networks"
"""


def storage_conf(home: Path) -> str:
    return f"""# Written by tests/containers/engine.py.
[storage]
driver = "overlay"
graphroot = "{home}/storage"
runroot = "{home}/run"
"""


# Short names (FROM python:...) resolve to docker.io, where the stand-ins are stored locally.
REGISTRIES_CONF = """# Written by tests/containers/engine.py.
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
"""


def configure(home: Path = ENGINE_HOME) -> dict[str, str]:
    """Writes the engine's configuration into `home`; the environment variables that select it
    (for podman, buildah and any program that runs them)."""
    for folder in ("tmp", "networks"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    _forget_run_state_of_an_earlier_boot(home)
    (home / "containers.conf").write_text(containers_conf(home))
    (home / "storage.conf").write_text(storage_conf(home))
    (home / "registries.conf").write_text(REGISTRIES_CONF)
    return {
        "CONTAINERS_CONF": str(home / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(home / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(home / "registries.conf"),
        "TMPDIR": str(home / "tmp"),
        # Docker's image format: OCI images have no SHELL (the Dockerfile's pipefail) and no
        # HEALTHCHECK, which podman drops with a warning.
        "BUILDAH_FORMAT": "docker",
    }


def _forget_run_state_of_an_earlier_boot(home: Path) -> None:
    """runroot and tmp_dir live on disk here, not on a tmpfs: after a reboot, podman must find
    them empty to know that no container of theirs runs any more."""
    boot_time = next(
        int(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime ")
    )
    marker = home / "libpod" / "booted"
    if marker.exists() and marker.stat().st_mtime >= boot_time:
        return
    for folder in ("run", "libpod"):
        shutil.rmtree(home / folder, ignore_errors=True)
    marker.parent.mkdir(parents=True)
    marker.touch()


@dataclass(frozen=True)
class Podman:
    """podman with this checkout's configuration and storage (ENGINE_HOME)."""

    program: str
    selection: dict[str, str]  # what configure() returned

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (the process environment by default) with this engine selected."""
        return {**(os.environ if base is None else base), **self.selection}

    def __call__(
        self, *args: str | os.PathLike[str], check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run([self.program, *args], check=check, timeout=timeout, env=self.env())

    def label(self, image: str, name: str) -> str | None:
        """A label of a stored image; None when the image is missing."""
        template = f'{{{{index .Labels "{name}"}}}}'
        result = self("image", "inspect", "--format", template, image, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def build(self, *args: str | os.PathLike[str], timeout: float = 1800) -> str:
        """`podman build` with cached layers and pull never."""
        return self("build", "--pull=never", "--layers", *args, timeout=timeout).stdout

    def prune(self) -> None:
        """Drops images nothing has used for a week: untagged stage images are build caches
        too (the Dockerfile's uv and process-compose stages), so a plain prune would cost a
        rebuild of them."""
        self("image", "prune", "--force", "--filter", "until=168h", check=False, timeout=600)


def pulled(engine: Podman, image: str) -> bool:
    """Whether `image` could be pulled from its registry (the real one is then used; no
    registry answers on these machines, where a stand-in is built instead)."""
    try:
        return engine("pull", "--quiet", image, check=False, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def find_podman() -> Podman:
    """The engine, installed from Debian when missing; configured for this checkout.

    When it cannot run here the `containers` tier is not run (tests/support/tiers.py): reported
    at the end of the run, and a failure under CI, so that CI never passes without it."""
    how = "run as root (the tests install podman with apt-get), as CI does"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        problem = Apt.install(*APT_PACKAGES)
        if problem is not None:
            unavailable("containers", f"{' and '.join(missing)} missing: {problem}", how)
    program = shutil.which("podman")
    if program is None:
        unavailable("containers", "podman is still missing after installing it", how)
    if os.geteuid() != 0:
        unavailable("containers", "the tier runs rootful podman (runc, netavark)", how)
    engine = Podman(program, configure())
    info = engine("info", check=False)
    if info.returncode != 0:
        pytest.fail(f"podman cannot run here: {info.stderr.strip()[-2000:]}", pytrace=False)
    return engine


def python_stand_in(engine: Podman) -> str:
    """python:3.11-slim-bookworm: Debian bookworm's Python 3.11 with venv and pip's CA bundle
    (the host's, so that TLS through the host's proxy is trusted)."""
    if engine.label(PYTHON_IMAGE, "fastapi-stack.stand-in") != STAND_IN_RECIPE and not pulled(
        engine, PYTHON_IMAGE
    ):
        folder = CACHE / "base"
        tarball = debootstrap_base(folder)
        containerfile = folder / "Containerfile.python"
        containerfile.write_text(
            PYTHON_CONTAINERFILE.format(tarball=tarball.name, recipe=STAND_IN_RECIPE)
        )
        engine.build("--tag", PYTHON_IMAGE, "--file", containerfile, folder)
    return PYTHON_IMAGE


def go_stand_in(engine: Podman) -> str:
    """golang:1.25-bookworm: the python stand-in plus the host's Go toolchain."""
    if engine.label(GO_IMAGE, "fastapi-stack.stand-in") != STAND_IN_RECIPE and not pulled(
        engine, GO_IMAGE
    ):
        python_image = python_stand_in(engine)
        if not (HOST_GOROOT / "bin" / "go").exists():
            pytest.fail(
                f"the golang stand-in copies the host's Go from {HOST_GOROOT}: missing",
                pytrace=False,
            )
        folder = ENGINE_HOME / "go-stand-in"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Containerfile").write_text(
            GO_CONTAINERFILE.format(python_image=python_image, recipe=STAND_IN_RECIPE)
        )
        engine.build("--tag", GO_IMAGE, "--volume", f"{HOST_GOROOT}:/host-go:ro", folder)
    return GO_IMAGE
