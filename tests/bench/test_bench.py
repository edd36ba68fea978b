"""`dev bench --tiny`: the whole harness, briefly. Checks the report and the cleanup, not speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.bench_report import chart, summarise
from scripts.bench_wrk import Measurement
from tests.conftest import DEV, TEST_STATE
from tests.support import pids_with_env, port_is_bound

TARGETS = ("baseline", "greeting", "list", "counter")


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = TEST_STATE / f"bench-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_tiny_run_reports_every_target_and_leaves_nothing_running(state_dir: Path) -> None:
    env = {**os.environ, "STATE_DIR": str(state_dir)}
    result = subprocess.run(
        [DEV, "bench", "--tiny"], env=env, capture_output=True, text=True, timeout=150, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    output = state_dir / "bench" / "tiny"
    report = json.loads((output / "latest.json").read_text())
    for name in TARGETS:
        entry = report[name]
        assert entry["rps"] > 0 and entry["ratio"] > 0, (name, entry)
        assert 0 < entry["p50_ms"] <= entry["p99_ms"], (name, entry)
        assert f"| {name} |" in result.stdout
    assert report["baseline"]["ratio"] == 1.0
    assert report["meta"]["workers"] == 1 and report["meta"]["duration_s"] == 1
    assert (output / "latest.svg").read_text().startswith("<svg")

    assert pids_with_env("STATE_DIR", report["meta"]["state_dir"]) == []
    bound = {name: port for name, port in report["meta"]["ports"].items() if port_is_bound(port)}
    assert bound == {}


def test_summary_keeps_each_targets_best_round_and_divides_by_the_baselines() -> None:
    rounds = {
        "baseline": [Measurement(1000, 1.0, 0.5, 1.0), Measurement(800, 1.0, 0.6, 2.0)],
        "greeting": [Measurement(100, 1.0, 5.0, 9.0), Measurement(250, 1.0, 4.0, 8.0)],
    }
    summary = summarise(rounds)
    assert summary["baseline"]["rps"] == 1000 and summary["baseline"]["ratio"] == 1.0
    assert summary["greeting"] | {"rounds": None} == {
        "rps": 250,
        "p50_ms": 4.0,
        "p99_ms": 8.0,
        "ratio": 0.25,
        "rounds": None,
    }
    assert len(summary["greeting"]["rounds"]) == 2
    assert chart(summary, "t").count("<rect") == 3  # the background and one bar per target
