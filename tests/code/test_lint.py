"""`make lint` in the suite: ruff (rules and format), strict mypy over the whole tree, the import
layers (import-linter's contracts in pyproject.toml) and the dependencies (deptry), so that what
the Makefile checks cannot drift while the tests stay green; and one rule of the tests' own
imports, that collecting the fast tier imports no app and loading the conftests no project code."""

from __future__ import annotations

import re
import subprocess

from core.settings import ROOT
from tests.support.paths import fast_test_files

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


# What collecting the fast tier must not import: each `make test-fast` process collects every
# fast module, and these take 0.9 s to import (their tests are grouped: tests/support/groups.py).
NOT_COLLECTED = (
    "fastapi",
    "celery",  # part: background
    "sqlalchemy",
    "alembic",
)


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of `names` are imported once `modules` are, in a new interpreter."""
    script = "import importlib, sys\n[importlib.import_module(m) for m in sys.argv[2:]]\n" + (
        "print(*(name for name in sys.argv[1].split() if name in sys.modules))"
    )
    imported = run(str(BIN / "python"), "-c", script, " ".join(names), *modules)
    assert imported.returncode == 0, imported.stderr
    return imported.stdout.split()


def fast_modules() -> list[str]:
    """The modules `make test-fast` collects and the conftests above them, as import names."""
    found = fast_test_files()
    conftests = sorted(
        conftest.relative_to(ROOT)
        for conftest in (ROOT / "tests").rglob("conftest.py")
        if any(path.is_relative_to(conftest.parent.relative_to(ROOT)) for path in found)
    )
    return [".".join(path.with_suffix("").parts) for path in [*conftests, *found]]


def test_collecting_the_fast_tier_imports_no_app() -> None:
    modules = fast_modules()
    assert "tests.conftest" in modules and "tests.code.test_docs" in modules
    assert loaded(modules, NOT_COLLECTED) == []
    # ... and it would show: the same with the app imported at the top of a module.
    with_the_app = loaded([*modules, "app.main"], NOT_COLLECTED)
    assert set(with_the_app) == set(NOT_COLLECTED) - {"alembic"}


# What loading the conftests must not import: `make test-fast`'s controller loads them, runs no
# test, and starts its workers once it has (the settings' pydantic alone is 0.08 s).
NOT_IN_CONFTESTS = (
    "pydantic",
    "core",
    "scripts",
    "logserver",  # part: logserver
)


def test_the_conftests_import_no_project_code() -> None:
    conftests = [module for module in fast_modules() if module.endswith(".conftest")]
    assert "tests.conftest" in conftests and "tests.deploy.conftest" in conftests
    assert loaded(conftests, NOT_IN_CONFTESTS) == []
    with_the_settings = loaded([*conftests, "core.settings"], NOT_IN_CONFTESTS)
    assert {"pydantic", "core"} <= set(with_the_settings)
