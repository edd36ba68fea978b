"""Where the tests find the project's programs and keep their state, and which modules the fast
tier collects."""

import re
from pathlib import Path

from core.settings import ROOT

DEV = str(ROOT / ".venv" / "bin" / "dev")
TEST_STATE = ROOT / ".state" / "test"

FAST = re.compile(r"mark\.fast\b")


def fast_test_files(root: Path = ROOT) -> list[Path]:
    """The test modules `make test-fast` collects (the Makefile's grep: those that mark tests
    fast), relative to `root`."""
    found = (p for p in (root / "tests").rglob("test_*.py") if FAST.search(p.read_text()))
    return sorted(path.relative_to(root) for path in found)
