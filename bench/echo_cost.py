"""What the dev echo costs a greeting (a figure of `make bench-dev`).

The dev stack's api echoes every record to its process-compose pane. A second dev api, started
in the same stack with LOG_ECHO=false, answers the same greeting; wrk loads each in turn,
`ROUNDS` times. The figure that counts is the CPU time each api spends a request (its least
round: a busy machine only adds to it): the difference is the echo's cost (one access record a
request, rendered and written), and unlike requests/s it holds up on a machine busy with other
work. Requests/s and p99 (each one's
best round, as `make bench` keeps) are shown too, and the echo handler's own CPU time per record
is measured apart.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from core.echo import EchoHandler
from core.settings import ROOT, Settings
from scripts import stack
from scripts.launch import VENV_BIN
from scripts.ports import free_port
from scripts.probes import http_ok
from scripts.supervise import Supervised, server_pids

GREETING = "/api/v1/user/greeting"
LOAD = wrk.Load(threads=1, connections=8, seconds=3)
WARMUP = wrk.Load(threads=1, connections=8, seconds=1)
ROUNDS = 5
START_TIMEOUT = 90


def measure(settings: Settings, env: dict[str, str], folder: Path, log_dir: Path) -> dict[str, Any]:
    """CPU time a request of each api (its processes' user + system time over wrk's requests,
    which the rest of a busy machine does not inflate), requests/s and p99, with and without
    the echo; and the echo's microseconds a request."""
    print("--> echo cost: the stack's api (echo on) against a second one with LOG_ECHO=false")
    binary, script = wrk.ensure_wrk(), wrk.write_script(folder)
    port = free_port()
    # As the stack's api runs (dev up's environment: tracing to the log server too), but quiet.
    quiet_env = {**stack.environment(settings), **env, "LOG_ECHO": "false", "API_PORT": str(port)}
    argv = [str(VENV_BIN / "dev"), "run", "api"]
    quiet = Supervised("api-no-echo", argv, quiet_env, log_dir, cwd=ROOT)
    echoing = next(entry["pid"] for entry in stack.processes(settings) if entry["name"] == "api")
    urls = {
        "echo_on": f"http://127.0.0.1:{settings.port('api_port')}{GREETING}",
        "echo_off": f"http://127.0.0.1:{port}{GREETING}",
    }
    rounds: dict[str, list[Round]] = {name: [] for name in urls}
    with quiet:
        quiet.wait_until(lambda: http_ok(urls["echo_off"]), START_TIMEOUT, GREETING)
        apis = {"echo_on": echoing, "echo_off": quiet.pid}
        for url in urls.values():
            wrk.measure(binary, script, url, WARMUP)
        for number in range(1, ROUNDS + 1):
            for name, url in urls.items():
                rounds[name].append(_round(binary, script, url, apis[name]))
                print(f"    round {number}/{ROUNDS} {name:<8} {rounds[name][-1]}", flush=True)
    cpu = {name: min(r.cpu_us for r in results) for name, results in rounds.items()}
    best = {name: max(results, key=lambda r: r.load.rps).load for name, results in rounds.items()}
    return {
        "cpu_us_per_request_echo_on": round(cpu["echo_on"], 1),
        "cpu_us_per_request_echo_off": round(cpu["echo_off"], 1),
        "echo_cpu_us_per_request": round(cpu["echo_on"] - cpu["echo_off"], 1),
        "rps_echo_on": round(best["echo_on"].rps),
        "rps_echo_off": round(best["echo_off"].rps),
        "p99_ms_echo_on": best["echo_on"].p99_ms,
        "p99_ms_echo_off": best["echo_off"].p99_ms,
        "handler_us_per_record": handler_microseconds(),
    }


@dataclass(frozen=True)
class Round:
    load: wrk.Measurement
    cpu_us: float  # the api's CPU time a request

    def __str__(self) -> str:
        return (
            f"{self.load.rps:>8,.0f} req/s  p99 {self.load.p99_ms:6.2f} ms  "
            f"{self.cpu_us:6.1f} us CPU a request"
        )


def _round(binary: str, script: Path, url: str, reloader: int) -> Round:
    pids = {reloader, *server_pids(reloader)}
    before = cpu_seconds(pids)
    load = wrk.measure(binary, script, url, LOAD)
    return Round(load, (cpu_seconds(pids) - before) / load.requests * 1e6)


def cpu_seconds(pids: set[int]) -> float:
    """User + system time of `pids` (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def handler_microseconds(records: int = 2_000, batches: int = 5) -> float:
    """The echo handler's CPU time for an access record, rendered on the caller's thread and
    written by the handler's (median of batches, each written out, to a null device)."""
    record = logging.makeLogRecord(
        {
            "name": "app.access",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "%s %s %d %.2fms",
            "args": ("GET", GREETING, 200, 0.42),
            "stream": "access",
            "request_id": "0" * 32,
            "method": "GET",
            "path": GREETING,
            "route": GREETING,
            "status": 200,
            "duration_ms": 0.42,
        }
    )
    timings = []
    with open(os.devnull, "w") as sink, redirect_stderr(sink):
        handler = EchoHandler("api", "app")
        try:
            for _ in range(batches):
                began = time.process_time()  # every thread's: the writer's time counts too
                for _ in range(records):
                    handler.handle(record)
                handler.flush()
                timings.append((time.process_time() - began) / records * 1e6)
        finally:
            handler.close()
    return round(statistics.median(timings), 2)
