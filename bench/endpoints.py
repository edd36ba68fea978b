"""`python -m bench` (`make bench`): requests/s, p50 and p99 of the benchmark endpoints under wrk,
each next to a raw ASGI baseline served by the same server with the same settings, and next to
the peer: the same endpoints as a FastAPI user writes them by default (bench/peer.py) under
uvicorn's defaults, with its access log on (the comparison) and off (for reference).

Everything runs on its own free ports and state under `<STATE_DIR>/bench/` and is stopped on the
way out. Targets alternate (baseline; greeting, the peer's greeting, the quiet peer's; list ...;
then again) so that noise from the rest of the machine hits them alike; each target's best round
is reported.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import granian
import uvicorn

from bench import BenchError, report, services
from bench import wrk as wrk_tool
from bench.services import GREETING, SEED_USERS, Ports
from bench.wrk import Load, Measurement
from core.settings import ROOT, Settings
from scripts import postgres, servers
from scripts.probes import get
from scripts.supervise import leftovers, stopped_by_sigterm

ENDPOINTS = {
    "greeting": "/api/v1/user/greeting",
    "list": "/api/v1/user/list?page=1&page_size=10",
    "counter": "/api/v1/user/counter",
}
PEERS = ("peer", "peer_quiet")  # bench/peer.py under uvicorn's defaults: access log on, off
TRACED_ENDPOINTS = ("greeting", "list")  # also measured with tracing on (services.TRACED)
GOAL = 1.5  # ours over the peer (access log on), on each endpoint


def targets_for(other_server: str) -> dict[str, str]:
    """Name -> path, in the order the rounds take them: each endpoint next to the api under the
    other server (\"uvicorn list\") and its peers."""
    targets = {"baseline": "/"}
    for name, path in ENDPOINTS.items():
        targets[name] = path
        targets[f"{other_server} {name}"] = path
        targets.update({f"{peer} {name}": path for peer in PEERS})
        if name in TRACED_ENDPOINTS:
            targets.update({f"{traced} {name}": path for traced in services.TRACED})
    return targets


@dataclass(frozen=True)
class Options:
    duration: int = 10  # seconds per target, split over the rounds
    connections: int = 64
    threads: int = 2
    workers: int = 1
    tiny: bool = False

    @property
    def rounds(self) -> int:
        # Best of 3 for the default 10 s: a stall on this shared machine rarely hits all three.
        return 3 if self.duration >= 6 else 2 if self.duration >= 2 else 1

    @property
    def warmup(self) -> int:
        return 0 if self.tiny else 1

    def load(self) -> Load:
        return Load(self.threads, self.connections, self.duration // self.rounds)

    @classmethod
    def tiny_run(cls, workers: int = 1) -> Options:
        """For the test: 1 s per target, 4 connections, its own output folder."""
        return cls(duration=1, connections=4, threads=1, workers=workers, tiny=True)


def output_dir(settings: Settings, tiny: bool) -> Path:
    base = settings.state_dir / "bench"
    return base / "tiny" if tiny else base


def run(settings: Settings, options: Options) -> dict[str, Any]:
    """Starts everything, checks each endpoint, measures, stops everything, writes the report."""
    if options.connections < options.threads:
        raise BenchError("--connections must be at least --threads (wrk's rule)")
    folder = output_dir(settings, options.tiny)
    state_dir, log_dir = folder / "state", folder / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for previous in (state_dir / "logs", state_dir / "log-spill"):
        shutil.rmtree(previous, ignore_errors=True)  # the last run's access log: not kept
    wrk = wrk_tool.ensure_wrk()
    script = wrk_tool.write_script(folder)
    ports = Ports.free()
    run = services.isolated(state_dir, ports, options.workers)
    other = services.OTHER_SERVER[run.settings.api_server]
    targets = targets_for(other)
    print(
        f"--> bench: {options.workers} api worker(s), wrk -t{options.threads} "
        f"-c{options.connections}, {options.rounds} round(s) of {options.load().seconds}s "
        f"per target; logs in {log_dir}",
        flush=True,
    )
    load_before = os.getloadavg()
    with stopped_by_sigterm(), ExitStack() as stack:
        services.start(stack, run, log_dir, ports)
        urls = check_endpoints(ports, targets)
        rounds = alternate(wrk, script, urls, options)
    left, bound = leftovers(state_dir, ports.as_dict())
    if left or bound:
        raise BenchError(f"left behind after stopping: processes {left}, ports of {bound}")
    summary = report.summarise(rounds)
    report.compare_with_peers(summary, ENDPOINTS, PEERS)
    tracing = report.tracing_cost(summary, TRACED_ENDPOINTS, services.TRACED)
    servers = report.server_ab(summary, ENDPOINTS, other)
    document = {
        **report.by_peer(summary, PEERS),
        "tracing": tracing,
        "server_ab": servers,
        "meta": meta(options, wrk, ports, state_dir, load_before[0], run.settings),
    }
    report.write_json(folder / "latest.json", document)
    (folder / "latest.svg").write_text(report.chart(summary, chart_title(options)))
    print()
    print(report.table(summary, targets))
    versus = ", ".join(f"{name} {summary[name]['vs_peer']:.2f}" for name in ENDPOINTS)
    print(f"\n--> vs peer (goal {GOAL}x at 1 worker): {versus}")
    under = ", ".join(f"{name} {servers[f'{other} {name}']['vs_api']:.2f}" for name in ENDPOINTS)
    print(f"--> the api under {other} over {run.settings.api_server} (API_SERVER): {under}")
    costs = ", ".join(
        f"{name} {entry['sample_ratio']} {entry['vs_off']:.2f}"
        for name, entry in ((key.split()[1], value) for key, value in tracing.items())
    )
    print(f"--> tracing on, requests/s over tracing off (sampling ratio): {costs}")
    print(f"--> wrote {folder / 'latest.json'} and {folder / 'latest.svg'}")
    return document


def check_endpoints(ports: Ports, targets: dict[str, str]) -> dict[str, str]:
    """Each target's URL, once it answered 200 with the body it should have."""
    urls = {name: f"http://127.0.0.1:{_port(ports, name)}{path}" for name, path in targets.items()}
    for name, url in urls.items():
        status, body = get(url)
        if status != 200 or not _holds(EXPECTED[name.split()[-1]], body):
            raise BenchError(f"{name}: GET {url} answered {status} {body!r}")
        if name.endswith("counter"):
            first, second = (get(url)[1]["counter"] for _ in range(2))
            if second != first + 1:
                raise BenchError(f"{name}: went from {first} to {second}, not up by one")
    return urls


def _port(ports: Ports, target: str) -> int:
    """The port of the server that serves `target` ("baseline", "peer list", "counter" ...)."""
    server = target.split()[0] if " " in target or target == "baseline" else "api"
    if server in services.OTHER_SERVER:  # "uvicorn list": the api under the other server
        server = "other_server"
    port: int = ports.as_dict()[server]
    return port


def _is_greeting(body: Any) -> bool:
    return bool(body == GREETING)


def _is_first_page(body: Any) -> bool:
    head = {"total": body["total"], "page": body["page"], "page_size": body["page_size"]}
    return head == {"total": SEED_USERS, "page": 1, "page_size": 10} and len(body["items"]) == 10


def _is_counter(body: Any) -> bool:
    return isinstance(body["counter"], int)


EXPECTED = {
    "baseline": _is_greeting,
    "greeting": _is_greeting,
    "list": _is_first_page,
    "counter": _is_counter,
}


def _holds(valid: Callable[[Any], bool], body: Any) -> bool:
    try:
        return valid(body)
    except (KeyError, TypeError):
        return False


def alternate(
    wrk: str, script: Path, urls: dict[str, str], options: Options
) -> dict[str, list[Measurement]]:
    """Warm-up, then `rounds` passes over every target in turn."""
    if options.warmup:
        warmup = Load(options.threads, options.connections, options.warmup)
        for url in urls.values():
            wrk_tool.measure(wrk, script, url, warmup)
    rounds: dict[str, list[Measurement]] = {name: [] for name in urls}
    for number in range(1, options.rounds + 1):
        for name, url in urls.items():
            result = wrk_tool.measure(wrk, script, url, options.load())
            rounds[name].append(result)
            print(
                f"    round {number}/{options.rounds} {name:<8} {result.rps:>10,.0f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms",
                flush=True,
            )
    return rounds


def meta(
    options: Options,
    wrk: str,
    ports: Ports,
    state_dir: Path,
    load_before: float,
    settings: Settings,
) -> dict[str, Any]:
    server = settings.api_server
    return {
        "machine": machine(),
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
        "workers": options.workers,
        "duration_s": options.rounds * options.load().seconds,
        "rounds": options.rounds,
        "round_s": options.load().seconds,
        "warmup_s": options.warmup,
        "connections": options.connections,
        "threads": options.threads,
        "aggregate": "best round per target (highest requests/s) with that round's latencies",
        "api": (
            f"python -m app (ENVIRONMENT=production, API_SERVER={server}, "
            f"API_WORKERS={options.workers})"
        ),
        "baseline": f"python -m bench.baseline (through app.server.run: {server}, same options)",
        "peer": " ".join(services.peer_argv(ports.peer, options.workers, access_log=True)[2:]),
        "other_server": f"python -m app as api, with API_SERVER={services.OTHER_SERVER[server]}",
        "traced": (
            "python -m app as api, with TRACING=true, TRACING_SAMPLE_RATIO="
            f"{services.TRACED} and OTLP to the bench's log server"
        ),
        "peer_quiet": " ".join(
            services.peer_argv(ports.peer_quiet, options.workers, access_log=False)[2:]
        ),
        "goal": f"vs_peer >= {GOAL} on each endpoint at 1 worker",
        "seed_users": SEED_USERS,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "versions": {
            "python": platform.python_version(),
            "uvicorn": uvicorn.__version__,
            "granian": granian.__version__,
            "wrk": wrk_tool.version(wrk),
            "postgres": _output([str(postgres.bin_dir(settings) / "postgres"), "--version"]),
            "redis": _output([str(servers.valkey_server(settings)), "--version"]).split(" sha=")[0],
        },
        "ports": ports.as_dict(),
        "state_dir": str(state_dir),
    }


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        (int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")),
        0,
    )
    release = dict(line.split("=", 1) for line in _lines("/etc/os-release") if "=" in line)
    return {
        "os": release.get("PRETTY_NAME", platform.system()).strip('"'),
        "kernel": platform.release(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
    }


def chart_title(options: Options) -> str:
    return (
        f"make bench: {options.workers} worker(s), wrk -t{options.threads} "
        f"-c{options.connections}, {time.strftime('%Y-%m-%d')}"
    )


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""
