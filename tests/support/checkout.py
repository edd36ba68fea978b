"""A copy of the checkout as a fresh clone has it: what git tracks or would track (uncommitted
edits included, ignored files such as .venv and .state left out), in a repository of its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from core.settings import ROOT


def fresh_copy(destination: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Copies the checkout's files to `destination` (emptied first) and commits them there;
    paths starting with one of `skip` are left out."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file() and not name.startswith(skip):  # not deleted since a commit
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    _git(destination, "init", "--quiet")
    _git(destination, "add", "--all")
    _git(destination, "commit", "--quiet", "--message", "a fresh copy")


def _git(where: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
    return subprocess.run(
        ["git", "-C", str(where), *identity, *args], capture_output=True, text=True, check=True
    ).stdout
