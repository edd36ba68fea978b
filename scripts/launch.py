"""What every launcher shares: where the project's tools are, one-line failures, and exec."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from core.settings import ROOT

TOOLS_BIN = ROOT / ".tools" / "bin"
UV_BIN = ROOT / ".tools" / "uv" / "bin"
VENV_BIN = ROOT / ".venv" / "bin"


class LaunchError(SystemExit):
    """A launcher cannot start its component: exits with one line saying why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")


def tool_path(extra: Sequence[Path] = ()) -> str:
    """PATH with the project's own bin folders first."""
    folders = [str(VENV_BIN), str(TOOLS_BIN), str(UV_BIN), *map(str, extra)]
    return os.pathsep.join([*folders, os.environ.get("PATH", "")])


def exec_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> NoReturn:
    """Replaces this process with `argv`, so a supervisor's signals reach it directly."""
    print(f"--> {' '.join(argv)}", file=sys.stderr, flush=True)
    try:
        os.execvpe(argv[0], list(argv), dict(env if env is not None else os.environ))
    except OSError as error:
        raise LaunchError(f"cannot run {argv[0]}: {error.strerror}") from None
