"""`python -m scripts.dev`, the entry the "Launch:" configs of .vscode/launch.json use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.settings import ROOT

pytestmark = pytest.mark.fast  # no service: make test-fast runs it


def test_python_m_scripts_dev_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.dev", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "doctor" in result.stdout  # a module without its __main__ guard prints nothing
