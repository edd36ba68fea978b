"""`make lint` in the suite: ruff (rules and format), strict mypy over the whole tree, the import
layers (import-linter's contracts in pyproject.toml) and the dependencies (deptry), so that what
the Makefile checks cannot drift while the tests stay green."""

from __future__ import annotations

import re
import subprocess

from core.settings import ROOT

BIN = ROOT / ".venv" / "bin"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)


def typed_paths() -> list[str]:
    """What `make lint` type-checks (the Makefile's TYPED, its `+=` lines included)."""
    lines = re.findall(r"^TYPED \+?= ([^#\n]+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert lines, "TYPED not found in the Makefile"
    return " ".join(lines).split()


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_ruff_formatted() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_every_package_and_the_tests() -> None:
    paths = typed_paths()
    expected = {"core", "app", "scripts", "tests"}
    expected.add("logserver")  # part: logserver
    expected.add("worker")  # part: background
    expected.add("bench")  # part: bench
    assert expected <= set(paths)
    result = run(str(BIN / "mypy"), *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_run_one_way() -> None:
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_no_runtime_import_of_a_dev_package_and_no_unused_dependency() -> None:
    result = run(str(BIN / "deptry"), ".")
    assert result.returncode == 0, result.stdout + result.stderr
