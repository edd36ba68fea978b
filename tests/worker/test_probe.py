"""`python -m worker.probe`, the stack's readiness probe of the worker."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ServiceProcess


def probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.probe"], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_the_probe_succeeds_when_the_worker_answers(
    worker: ServiceProcess, worker_env: dict[str, str]
) -> None:
    assert probe(worker_env).returncode == 0


def test_the_probe_fails_when_no_worker_answers(worker_env: dict[str, str]) -> None:
    result = probe({**worker_env, "CELERY_BROKER_DB": "7"})  # a broker no worker listens to
    assert result.returncode == 1
    assert "did not answer a ping" in result.stderr
