"""wrk: found (or installed with apt-get), run against one URL, its summary read as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import BenchError

# wrk calls done() once, in its main thread, with the summary of every thread; latency in µs.
SUMMARY_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_SUMMARY {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
MARKER = "BENCH_SUMMARY "


@dataclass(frozen=True)
class Load:
    """How hard wrk pushes: threads, open connections, and seconds per run."""

    threads: int
    connections: int
    seconds: int


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def ensure_wrk() -> str:
    """wrk's path; installs it with apt-get when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk not found: install it (sudo apt-get install wrk) and run again")
    print("--> wrk not found: installing it with 'apt-get install -y wrk'", flush=True)
    if not _apt("install", "-y", "-q", "wrk"):
        _apt("update", "-q")
        if not _apt("install", "-y", "-q", "wrk"):
            raise BenchError("'apt-get install -y wrk' failed: install wrk by hand and run again")
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk is still not on PATH after apt-get installed it")
    return found


def _apt(*args: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return (
        subprocess.run(["apt-get", *args], env=env, capture_output=True, check=False).returncode
        == 0
    )


def write_script(folder: Path) -> Path:
    path = folder / "wrk-summary.lua"
    path.write_text(SUMMARY_SCRIPT)
    return path


def measure(wrk: str, script: Path, url: str, load: Load) -> Measurement:
    """One wrk run; fails loudly on any error or non-2xx/3xx response it counted."""
    argv = [
        wrk,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{load.seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=load.seconds + 60
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    if result.returncode != 0 or not lines:
        raise BenchError(
            f"wrk failed on {url} ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
    summary = json.loads(lines[-1].removeprefix(MARKER))
    errors = {
        kind: summary[kind]
        for kind in ("connect", "read", "write", "status", "timeout")
        if summary[kind]
    }
    if errors:
        raise BenchError(
            f"wrk counted errors on {url}: {errors} of {summary['requests']} "
            f"requests ('status' = non-2xx/3xx responses); the api log says why"
        )
    if summary["requests"] == 0:
        raise BenchError(f"wrk made no request to {url}")
    return Measurement(
        summary["requests"],
        summary["duration_us"] / 1e6,
        summary["p50_us"] / 1e3,
        summary["p99_us"] / 1e3,
    )


def version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).split("Copyright")[0].strip()
