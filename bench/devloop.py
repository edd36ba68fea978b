"""`python -m bench --dev-loop` (`make bench-dev`): the waits of the dev loop.

- cold start: `dev up --no-tui` to every process ready (one-shots completed), on a fresh state
  dir, then again on the state the first start left;
- echo cost: what the dev echo costs a greeting (bench/echo_cost.py);
- api reload: the time from writing a file under `app/` to a new server process answering
  (median of several edits);
- worker restart: the same for a file under `worker/`;
- log server: records/s it stores from 1 and from 8 senders.

The stack runs on its own free ports and state under `<STATE_DIR>/bench/dev-loop/`.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import BenchError, echo_cost, log_throughput
from bench.endpoints import machine
from bench.report import last_suite_run, write_json
from core.settings import DEFAULT_PORTS, ROOT, Settings
from scripts import stack
from scripts.isolated import isolated_run
from scripts.launch import VENV_BIN
from scripts.probes import get
from scripts.supervise import (
    Supervised,
    descendants,
    kill,
    leftovers,
    server_pids,
    stopped_by_sigterm,
    wait_for,
)

DEV = str(VENV_BIN / "dev")
EDITS = 5
READY_TIMEOUT = 180
RESTART_TIMEOUT = 60
SETTLE_SECONDS = 1.0  # between edits, so that one reload is over before the next edit
API_EDIT = ROOT / "app" / "_bench_reload.py"
WORKER_EDIT = ROOT / "worker" / "_bench_reload.py"


def run(settings: Settings) -> dict[str, Any]:
    folder = settings.state_dir / "bench" / "dev-loop"
    state_dir, log_dir = folder / "state", folder / "logs"
    shutil.rmtree(state_dir, ignore_errors=True)
    isolated = isolated_run(state_dir, environment="dev", api_reload="true", log_echo="true")
    stack_settings, env = isolated.settings, isolated.env
    figures: dict[str, Any] = {}
    try:
        with stopped_by_sigterm():
            with running_stack(stack_settings, env, log_dir, "fresh") as seconds:
                figures["cold_start_fresh_s"] = round(seconds, 2)
            with running_stack(stack_settings, env, log_dir, "existing") as seconds:
                figures["cold_start_existing_state_s"] = round(seconds, 2)
                figures["echo_cost_greeting"] = echo_cost.measure(
                    stack_settings, env, folder, log_dir
                )
                figures["api_reload_s"] = api_reload(stack_settings)
                try:
                    figures["worker_restart_s"] = worker_restart(stack_settings)
                except BenchError as error:  # keep the other figures
                    figures["worker_restart_s"] = f"failed: {error}"
                    print(f"--> worker restart {figures['worker_restart_s']}", flush=True)
            figures["logserver_records_per_s"] = logserver_rate(env, folder, log_dir)
            figures["test_suite"] = last_suite_run()
    finally:
        left, bound = leftovers(state_dir, ports_of(stack_settings))
        kill(left)
    if left or bound:
        raise BenchError(f"left behind after the run: processes {left} (killed), ports of {bound}")
    document = {
        **figures,
        "meta": {
            "machine": machine(),
            "edits": EDITS,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    write_json(folder.parent / "dev-loop.json", document)
    print()
    print(table(figures))
    print(f"\n--> wrote {folder.parent / 'dev-loop.json'}")
    return document


@contextmanager
def running_stack(
    settings: Settings, env: dict[str, str], log_dir: Path, run: str
) -> Iterator[float]:
    """`dev up --no-tui` until every process is ready; yields the seconds that took."""
    print(f"--> dev up ({run} state): waiting for every process to be ready", flush=True)
    up = Supervised(f"dev-up-{run}", [DEV, "up", "--no-tui"], env, log_dir, cwd=ROOT)
    began = time.monotonic()
    with up:
        up.wait_until(lambda: stack.all_ready(settings), READY_TIMEOUT, "every process ready")
        seconds = time.monotonic() - began
        print(f"    ready in {seconds:.2f}s", flush=True)
        try:
            yield seconds
        finally:
            subprocess.run(
                [DEV, "down"],
                env=stack.environment(settings),
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
            assert up.process is not None
            up.process.wait(60)


def processes(settings: Settings) -> list[dict[str, Any]]:
    """`process-compose process list` of the running stack ([] while it does not answer)."""
    return stack.processes(settings)


def ports_of(settings: Settings) -> dict[str, int]:
    return {name: settings.port(name) for name in DEFAULT_PORTS}


def api_reload(settings: Settings) -> dict[str, Any]:
    """Seconds from an edit under app/ to a new api server process answering GET /health.

    The server processes are the reloader's `multiprocessing` children (uvicorn stops the old one
    before it starts the next), found in /proc: the api's own logs may go anywhere."""
    reloader = next(entry["pid"] for entry in processes(settings) if entry["name"] == "api")
    health = f"http://127.0.0.1:{settings.api_port}/health"

    def new_server() -> Callable[[], bool]:
        previous = server_pids(reloader)

        def answers() -> bool:
            current = server_pids(reloader)
            return bool(current - previous) and get(health)[0] == 200

        return answers

    return time_edits(API_EDIT, new_server, "api reload")


def worker_restart(settings: Settings) -> dict[str, Any]:
    """Seconds from an edit under worker/ to a new process in the worker's process tree (the
    restarted Celery worker) and its readiness probe passing (if process-compose.yaml has one:
    the probe's own run time is then included)."""
    entry = next(entry for entry in processes(settings) if entry["name"] == "worker")
    probe = readiness_command("worker")
    env = stack.environment(settings)

    def ready_again() -> Callable[[], bool]:
        # The api's edits (under app/, which the worker watches too) may still be restarting it.
        if probe is not None:
            wait_for(lambda: _passes(probe, env), RESTART_TIMEOUT, "the worker to be ready")
        previous = descendants(entry["pid"])

        def ready() -> bool:
            started = bool(descendants(entry["pid"]) - previous)
            return started and (probe is None or _passes(probe, env))

        return ready

    return time_edits(WORKER_EDIT, ready_again, "worker restart")


def _passes(command: str, env: dict[str, str]) -> bool:
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True).returncode == 0


def readiness_command(process: str) -> str | None:
    """The exec readiness probe of `process` in process-compose.yaml, if it has one."""
    config = yaml.safe_load(stack.CONFIG.read_text())
    probe = config["processes"][process].get("readiness_probe") or {}
    command = (probe.get("exec") or {}).get("command")
    return str(command) if command else None


def time_edits(
    path: Path, restarted: Callable[[], Callable[[], bool]], what: str
) -> dict[str, Any]:
    """Rewrites `path` EDITS times, each time waiting until `restarted()`'s condition (made just
    before the edit) holds; the median and every sample, in seconds. Deletes `path` after."""
    samples = []
    try:
        for edit in range(1, EDITS + 1):
            condition = restarted()
            began = time.monotonic()
            path.write_text(f"# dev bench --dev-loop: edit {edit} at {time.time()}\n")
            wait_for(condition, RESTART_TIMEOUT, what)
            samples.append(time.monotonic() - began)
            print(f"    {what} {edit}/{EDITS}: {samples[-1]:.2f}s", flush=True)
            time.sleep(SETTLE_SECONDS)
    finally:
        path.unlink(missing_ok=True)
    return {
        "median": round(statistics.median(samples), 2),
        "samples": [round(sample, 2) for sample in samples],
    }


def logserver_rate(env: dict[str, str], folder: Path, log_dir: Path) -> dict[str, float]:
    print(f"--> log server: {log_throughput.RECORDS:,} records from 1, then 8 senders", flush=True)
    data_dir = folder / "logserver-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        rates = log_throughput.throughput(env, data_dir, log_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {name: round(rate) for name, rate in rates.items()}


def table(figures: dict[str, Any]) -> str:
    lines = ["| dev loop | seconds (or records/s) |", "|---|--:|"]
    for name, value in figures.items():
        if isinstance(value, dict) and "median" in value:
            shown = f"{value['median']:.2f} (median of {len(value['samples'])})"
        elif isinstance(value, dict) and "passed" in value:
            shown = (
                f"{value['seconds']:.0f} ({value['passed']} passed, last green run {value['date']})"
            )
        elif isinstance(value, dict):
            shown = ", ".join(f"{key.replace('_', ' ')}: {rate:,}" for key, rate in value.items())
        else:
            shown = str(value)
        lines.append(f"| {name.replace('_', ' ')} | {shown} |")
    return "\n".join(lines)
