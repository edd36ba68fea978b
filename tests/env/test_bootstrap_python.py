"""The interpreter the bootstrap makes .venv from (`scripts/bootstrap.sh --python`): $PYTHON if
set, else the first Python 3.11 on PATH that has libpython built in, else the first on PATH."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.settings import ROOT

pytestmark = [
    pytest.mark.fast,
    pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux: reads /proc/self/maps"),
]

BOOTSTRAP = ROOT / "scripts/bootstrap.sh"
MAPS_LIBPYTHON = "import sys; print('libpython' in open('/proc/self/maps').read())"


def chosen(path: list[Path], python: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": os.pathsep.join([*map(str, path), "/usr/bin", "/bin"])}
    env.pop("PYTHON", None)
    if python is not None:
        env["PYTHON"] = python
    return subprocess.run(
        ["/bin/bash", str(BOOTSTRAP), "--python"], env=env, capture_output=True, text=True
    )


def interpreters() -> dict[Path, bool]:
    """Each Python 3.11 of this machine, and whether it loads libpython as a shared library."""
    found = {}
    candidates = ["/usr/bin/python3.11", "/usr/local/bin/python3.11"]
    candidates += glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11"))
    for candidate in map(Path, candidates):
        if candidate.exists():
            maps = subprocess.run([candidate, "-c", MAPS_LIBPYTHON], capture_output=True, text=True)
            found[candidate.resolve()] = maps.stdout.strip() == "True"
    return found


def alone_on_path(python: Path, folder: Path) -> Path:
    """A folder holding only a `python3.11` that is `python` (as pyenv's versions/*/bin are)."""
    folder.mkdir()
    (folder / "python3.11").symlink_to(python)
    return folder


def test_a_build_with_libpython_built_in_wins_over_an_earlier_shared_one(tmp_path: Path) -> None:
    found = interpreters()
    built_in = [python for python, shared in found.items() if not shared]
    shared = [python for python, shared in found.items() if shared]
    assert built_in, f"no Python 3.11 with libpython built in among {found}"
    later = alone_on_path(built_in[0], tmp_path / "later")
    if shared:  # pyenv's build, here and on CI
        first = alone_on_path(shared[0], tmp_path / "first")
        result = chosen([first, later])
    else:
        result = chosen([later])
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{later / 'python3.11'}\n"


def test_python_names_the_interpreter_or_fails_in_one_line() -> None:
    with tempfile.TemporaryDirectory() as empty:
        own = chosen([Path(empty)], python=sys.executable)
    assert (own.returncode, own.stdout) == (0, f"{sys.executable}\n"), own.stderr
    wrong = chosen([], python="/bin/true")
    assert wrong.returncode == 1
    assert wrong.stderr == "bootstrap: error: PYTHON=/bin/true is not a Python 3.11\n"
