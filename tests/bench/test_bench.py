"""`python -m bench --tiny`: the whole harness, briefly, run as a program (the tests never import
the bench). Checks the report and the cleanup, not speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import ROOT
from scripts.supervise import leftovers
from tests.support.paths import TEST_STATE
from tests.support.tiers import unavailable

TARGETS = ("baseline", "greeting", "list", "counter")
ENDPOINTS = TARGETS[1:]
PEERS = ("peer", "peer_quiet")
TRACED = {"traced": "1.0", "sampled": "0.1"}  # the api with tracing on, by sampling ratio
TRACED_ENDPOINTS = ("greeting", "list")


@pytest.fixture(scope="module")
def tiny_run() -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    """One tiny run for the module: its output, and its folder."""
    if shutil.which("wrk") is None and os.geteuid() != 0:
        unavailable(
            "bench",
            "wrk is missing, and only root can install it (the bench does, with apt-get)",
            "install wrk (Debian: apt-get install wrk), or run as root",
        )
    state_dir = TEST_STATE / f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "STATE_DIR": str(state_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    yield result, state_dir / "bench" / "tiny"
    shutil.rmtree(state_dir, ignore_errors=True)


def report_of(run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    """The run's latest.json, once it exited 0."""
    result, output = run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report: dict[str, Any] = json.loads((output / "latest.json").read_text())
    return report


def test_tiny_run_reports_every_target_and_leaves_nothing_running(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = tiny_run
    report = report_of(tiny_run)
    for name in TARGETS:
        entry = report[name]
        assert entry["rps"] > 0 and entry["ratio"] > 0, (name, entry)
        assert 0 < entry["p50_ms"] <= entry["p99_ms"], (name, entry)
        assert f"| {name} |" in result.stdout
    assert report["baseline"]["ratio"] == 1.0
    assert report["meta"]["workers"] == 1 and report["meta"]["duration_s"] == 1
    assert (output / "latest.svg").read_text().startswith("<svg")

    assert leftovers(Path(report["meta"]["state_dir"]), report["meta"]["ports"]) == ([], [])


def test_summary_keeps_each_targets_best_round_and_divides_by_the_baselines(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    report = report_of(tiny_run)
    output = tiny_run[1]
    for name in TARGETS:
        entry = report[name]
        best = max(entry["rounds"], key=lambda run: run["rps"])
        head = {key: entry[key] for key in ("rps", "p50_ms", "p99_ms")}
        assert head == {key: best[key] for key in ("rps", "p50_ms", "p99_ms")}, (name, entry)
        # (the report rounds rates to 0.1 and ratios to 0.001)
        assert entry["ratio"] == pytest.approx(entry["rps"] / report["baseline"]["rps"], abs=2e-3)
    chart = (output / "latest.svg").read_text()
    # The background and one bar per target: the baseline, and each endpoint: ours under both
    # servers and the peers'.
    assert chart.count("<rect") == (
        1 + 1 + len(ENDPOINTS) * (2 + len(PEERS)) + len(TRACED_ENDPOINTS) * len(TRACED)
    )


def test_tracing_on_is_measured_against_tracing_off_in_the_same_run(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result = tiny_run[0]
    report = report_of(tiny_run)
    for name in TRACED_ENDPOINTS:
        for label, ratio in TRACED.items():
            entry = report["tracing"][f"{label} {name}"]
            assert entry["sample_ratio"] == ratio and entry["rps"] > 0, entry
            assert entry["vs_off"] == pytest.approx(entry["rps"] / report[name]["rps"], abs=2e-3)
            assert f"| {label} {name} |" in result.stdout
    assert "tracing on, requests/s over tracing off" in result.stdout
    # The traced apis sent their spans to the bench's log server (its OTLP receiver).
    spans = list((tiny_run[1] / "state" / "logs" / "spans").glob("*.jsonl"))
    assert spans and any("/api/v1/user/greeting" in path.read_text() for path in spans)


def test_the_other_server_is_measured_against_the_api_in_the_same_run(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = tiny_run
    report = report_of(tiny_run)
    assert report["meta"]["api"].count("API_SERVER=granian") == 1  # the runtime image's default
    assert report["meta"]["other_server"].endswith("API_SERVER=uvicorn")
    for name in ENDPOINTS:
        entry = report["server_ab"][f"uvicorn {name}"]
        assert entry["rps"] > 0, entry
        assert entry["vs_api"] == pytest.approx(entry["rps"] / report[name]["rps"], abs=2e-3)
        assert f"| uvicorn {name} |" in result.stdout
    assert "the api under uvicorn over granian (API_SERVER): greeting" in result.stdout
    # Each api said which server serves it.
    assert "served by uvicorn" in (output / "logs" / "api uvicorn.log").read_text()
    assert "served by granian" in (output / "logs" / "api.log").read_text()


def test_each_endpoint_is_compared_with_the_peer_measured_in_the_same_run(
    tiny_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result = tiny_run[0]
    report = report_of(tiny_run)
    for name in ENDPOINTS:
        for peer in PEERS:
            theirs = report[peer][name]
            assert theirs["rps"] > 0 and len(theirs["rounds"]) == 1, (peer, name, theirs)
            assert report[name][f"vs_{peer}"] == pytest.approx(
                report[name]["rps"] / theirs["rps"], abs=2e-3
            )
            assert f"| {peer} {name} |" in result.stdout
    assert "uvicorn bench.peer:app" in report["meta"]["peer"]
    assert report["meta"]["peer_quiet"].endswith("--no-access-log")
    # The peer's access log (uvicorn's, on stdout) is in its log file: one line per request.
    peer_log = (tiny_run[1] / "logs" / "peer.log").read_text()
    assert (
        peer_log.count('"GET /api/v1/user/greeting HTTP/1.1" 200')
        >= report["peer"]["greeting"]["rounds"][0]["requests"]
    )
