"""`python -m bench --dev-loop` (`make bench-dev`): the waits of the dev loop.

- cold start: `dev up --no-tui` to every process ready (one-shots completed), on a fresh state
  dir, then again on the state the first start left;
- echo cost: what the dev echo costs a greeting (bench/echo_cost.py);
- api reload: the time from writing a file under `app/` to a new server process answering
  (median of several edits);
# part: background
- worker restart: the same for a file under `worker/`, to the worker ready again;
- beat restart: the same edit, to beat ready again;
# end part: background
- log server: records/s it stores from 1 and from 8 senders;
- test-fast: the seconds `make test-fast` takes (the whole target, warm; median of 3).

Each cold start also gives, per process, the seconds from `dev up` to its start and to its
readiness; the machine's load average is kept before and after the run.

The stack runs on its own free ports and state under `<STATE_DIR>/bench/dev-loop/`.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import (
    BenchError,
    echo_cost,
    log_throughput,  # part: logserver
)
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
API_EDIT = ROOT / "app" / "_edit_probe_bench.py"
WORKER_EDIT = ROOT / "worker" / "_edit_probe_bench.py"  # part: background


def run(settings: Settings, fresh: bool = True) -> dict[str, Any]:
    """The figures; without `fresh`, on the state the last run left (no fresh cold start)."""
    folder = settings.state_dir / "bench" / "dev-loop"
    state_dir, log_dir = folder / "state", folder / "logs"
    if fresh:
        shutil.rmtree(state_dir, ignore_errors=True)
    isolated = isolated_run(state_dir, environment="dev", api_reload="true", log_echo="true")
    stack_settings, env = isolated.settings, isolated.env
    figures: dict[str, Any] = {}
    load_before = load_average()
    per_process: dict[str, dict[str, dict[str, float]]] = {}
    try:
        with stopped_by_sigterm():
            if fresh:
                with running_stack(stack_settings, env, log_dir, "fresh") as (seconds, times):
                    figures["cold_start_fresh_s"] = round(seconds, 2)
                    per_process["fresh"] = times
            with running_stack(stack_settings, env, log_dir, "existing") as (seconds, times):
                figures["cold_start_existing_state_s"] = round(seconds, 2)
                per_process["existing"] = times
                figures["echo_cost_greeting"] = echo_cost.measure(
                    stack_settings, env, folder, log_dir
                )
                figures["api_reload_s"] = api_reload(stack_settings)
                # part: background
                for process in ("worker", "beat"):
                    name = f"{process}_restart_s"
                    try:
                        figures[name] = celery_restart(stack_settings, process)
                    except BenchError as error:  # keep the other figures
                        figures[name] = f"failed: {error}"
                        print(f"--> {process} restart {figures[name]}", flush=True)
                # end part: background
            for name, measure in (
                # part: logserver
                ("logserver_records_per_s", lambda: logserver_rate(env, folder, log_dir)),
                # end part: logserver
                ("test_fast_s", test_fast),
            ):
                try:
                    figures[name] = measure()
                except (BenchError, threading.BrokenBarrierError) as error:  # keep the others
                    figures[name] = f"failed: {type(error).__name__} {error}"
                    print(f"--> {name} {figures[name]}", flush=True)
            figures["test_suite"] = last_suite_run()
    finally:
        left, bound = leftovers(state_dir, ports_of(stack_settings))
        kill(left)
    if left or bound:
        raise BenchError(f"left behind after the run: processes {left} (killed), ports of {bound}")
    document = {
        **figures,
        "cold_start_per_process": per_process,
        "meta": {
            "machine": machine(),
            "load_average": {"before": load_before, "after": load_average()},
            "edits": EDITS,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    write_json(folder.parent / "dev-loop.json", document)
    print()
    print(table(figures))
    print()
    print(process_table(per_process))
    print(f"\nload average (1, 5, 15 min): before {load_before}, after {load_average()}")
    print(f"\n--> wrote {folder.parent / 'dev-loop.json'}")
    return document


def load_average() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


@contextmanager
def running_stack(
    settings: Settings, env: dict[str, str], log_dir: Path, run: str
) -> Iterator[tuple[float, dict[str, dict[str, float]]]]:
    """`dev up --no-tui` until every process is ready; yields the seconds that took, and per
    process the seconds to its start (`started`) and to its readiness (`ready`)."""
    print(f"--> dev up ({run} state): waiting for every process to be ready", flush=True)
    up = Supervised(f"dev-up-{run}", [DEV, "up", "--no-tui"], env, log_dir, cwd=ROOT)
    times: dict[str, dict[str, float]] = {}
    began = time.monotonic()

    def all_ready() -> bool:
        entries = stack.processes(settings)
        now = round(time.monotonic() - began, 2)
        for entry in entries:
            seen = times.setdefault(entry["name"], {})
            if entry.get("status") not in ("Pending", "Disabled", None):
                seen.setdefault("started", now)
            # A one-shot (no probe) is done once it has exited 0, not while it runs.
            one_shot = not entry.get("has_ready_probe", True)
            if stack.ready(entry) and (entry.get("status") == "Completed" or not one_shot):
                seen.setdefault("ready", now)
        return bool(entries) and all(stack.ready(entry) for entry in entries)

    with up:
        up.wait_until(all_ready, READY_TIMEOUT, "every process ready")
        seconds = time.monotonic() - began
        print(f"    ready in {seconds:.2f}s", flush=True)
        print(process_table({run: times}), flush=True)
        try:
            yield seconds, times
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


# part: background
def celery_restart(settings: Settings, process: str) -> dict[str, Any]:
    """Seconds from an edit under worker/ to a new process in `process`'s tree (the worker or
    beat its reloader forked) and its readiness probe passing (the probe's own run included)."""
    entry = next(entry for entry in processes(settings) if entry["name"] == process)
    probe = readiness_command(process)
    env = stack.environment(settings)

    def ready_again() -> Callable[[], bool]:
        # The last edit (the api's, under app/, which the worker watches too) may still be
        # restarting it.
        if probe is not None:
            wait_for(lambda: _passes(probe, env), RESTART_TIMEOUT, f"{process} to be ready")
        previous = descendants(entry["pid"])

        def ready() -> bool:
            started = bool(descendants(entry["pid"]) - previous)
            return started and (probe is None or _passes(probe, env))

        return ready

    return time_edits(WORKER_EDIT, ready_again, f"{process} restart")
    # end part: background


def test_fast(timed: int = 3) -> float:
    """The seconds of `make test-fast` (the whole target): the median of `timed` runs, after one
    run to warm it (one run on a shared machine is +-0.5 s)."""
    print(f"--> make test-fast (a warm-up run, then the median of {timed})", flush=True)
    runs = []
    for _ in range(1 + timed):
        began = time.monotonic()
        result = subprocess.run(["make", "test-fast"], cwd=ROOT, capture_output=True, text=True)
        runs.append(time.monotonic() - began)
        if result.returncode != 0:
            raise BenchError(f"make test-fast failed:\n{result.stdout[-2000:]}")
    seconds = statistics.median(runs[1:])
    print(f"    {seconds:.2f}s (runs: {', '.join(f'{run:.2f}' for run in runs[1:])})", flush=True)
    return round(seconds, 2)


def process_table(per_process: dict[str, dict[str, dict[str, float]]]) -> str:
    """Per process, seconds from `dev up` to its start and to its readiness, in each cold start."""
    runs = list(per_process)
    lines = [
        "| process | " + " | ".join(f"{run}: started / ready" for run in runs) + " |",
        "|---|" + "--:|" * len(runs),
    ]
    names = sorted(
        {name for times in per_process.values() for name in times},
        key=lambda name: per_process[runs[-1]].get(name, {}).get("ready", 0.0),
    )
    for name in names:
        cells = []
        for run in runs:
            seen = per_process[run].get(name, {})
            cells.append(f"{seen.get('started', '-')} / {seen.get('ready', '-')}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _passes(command: str, env: dict[str, str]) -> bool:
    # process-compose puts the ${VARIABLES} in before the shell runs the command (quoted ones too:
    # beat's probe quotes its glob), so this does the same.
    command = re.sub(r"\$\{(\w+)\}", lambda name: env.get(name[1], name[0]), command)
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


# part: logserver
def logserver_rate(env: dict[str, str], folder: Path, log_dir: Path) -> dict[str, float]:
    print(f"--> log server: {log_throughput.RECORDS:,} records from 1, then 8 senders", flush=True)
    data_dir = folder / "logserver-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        rates = log_throughput.throughput(env, data_dir, log_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {name: round(rate) for name, rate in rates.items()}


# end part: logserver


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
