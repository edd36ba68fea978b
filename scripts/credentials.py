"""The dev stack's secrets: generated per checkout, kept private, read back by the settings.

`dev secrets` (which `make bootstrap` and `dev up` run) writes each secret of GENERATED_SECRETS
that is not set otherwise into `<STATE_DIR>/secrets/<setting name>`: a 0600 file in a 0700
folder of a 0700 state dir, and makes `.env` 0600. Settings read those files
(core/settings.py), so every process of the stack, the tests and the tools agree on them.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

from pydantic import SecretStr

from core.settings import GENERATED_SECRETS, ROOT, SECRETS_FOLDER, Settings, read_secret

PRIVATE_UMASK = 0o077  # what the dev CLI's processes create is the developer's alone
SECRET_BYTES = 32


def make_private(settings: Settings) -> None:
    """The state dir and its secrets folder 0700, `.env` 0600 (if there is one).

    Others' search bit stays where it is set: as root, the Postgres launcher sets it so that
    the user it drops to can pass through to its own folder (it cannot list, nor read a file).
    """
    for folder in (settings.state_dir, settings.secrets_dir):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(stat.S_IMODE(folder.stat().st_mode) & 0o701)
    env_file = ROOT / ".env"
    if env_file.exists():
        env_file.chmod(0o600)


def ensure(settings: Settings) -> tuple[Settings, list[str]]:
    """Generates every secret the settings lack; returns the settings with them, and their
    names."""
    make_private(settings)
    made: dict[str, SecretStr] = {}
    for name in GENERATED_SECRETS:
        if getattr(settings, name) is None:
            made[name] = SecretStr(_write_new(settings.secrets_dir / name))
    return settings.model_copy(update=made), list(made)


def generate_all(state_dir: Path) -> None:
    """Every generated secret of the state dir `state_dir` (before its settings are read: a run
    of its own in production needs them to load)."""
    secrets_dir = state_dir / SECRETS_FOLDER
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    for name in GENERATED_SECRETS:
        _write_new(secrets_dir / name)


def _write_new(path: Path) -> str:
    """A new random secret in a 0600 file; when another process creates it first (the stack's
    processes start together), its value."""
    value = secrets.token_urlsafe(SECRET_BYTES)
    try:
        write_private(path, value + "\n", exclusive=True)
    except FileExistsError:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            existing = read_secret(path)
            if existing is not None:
                return existing
            time.sleep(0.02)
        write_private(path, value + "\n")  # left empty: replaced
    return value


def write_private(path: Path, text: str, exclusive: bool = False) -> None:
    """`text` into `path`, readable by this user alone (0600, whatever the umask and the file's
    mode before); `exclusive`: FileExistsError if there is one."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(fd, 0o600)
        file.write(text)
