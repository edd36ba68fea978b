"""What the access log costs the greeting endpoint: not a test, run it by hand (needs wrk).

    .venv/bin/python -m bench.access_log [--seconds 10]

Serves the api with uvicorn (uvloop, httptools, one process) three ways, one after the other,
and runs wrk against `/api/v1/user/greeting`: without the access middleware; with it, records
shipped to a real log server; and with it but the `app.access` logger off (the request id alone).
Besides requests/s it prints the api process's CPU time per request (its log-shipping thread
included), which other load on the machine disturbs much less.

`--in-process` skips uvicorn and wrk: it calls the app's ASGI interface directly and counts the
CPU time of the calling thread and of the log-shipping thread, the steadiest measure on a busy
machine (requests/s there measure the machine's other load as much as this code).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.middleware import AccessLogMiddleware
from core.settings import ROOT, load_settings
from logserver.cli import serve_argv
from scripts.ports import free_port
from scripts.probes import http_ok, logserver_answers
from scripts.supervise import HOST, Supervised, wait_for

VARIANTS = ("no-middleware", "access-log", "access-log-off")


def bench_dir() -> Path:
    """Under the checkout's state folder, like everything the stack writes."""
    folder = ROOT / ".state" / "logserver-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def log_server(folder: Path) -> Iterator[int]:
    """A log server of its own, storing under `folder`; yields its port."""
    port = free_port()
    argv = serve_argv(port, folder / "logs", "--host", HOST)
    env = {**os.environ, "LOGSERVER_TOKEN": ""}
    with Supervised("logserver", argv, env, folder) as server:
        server.wait_until(lambda: logserver_answers(port), 20, "answering a sync")
        yield port


def variant_app(variant: str, state_dir: str, logserver_port: int) -> FastAPI:
    settings = load_settings(
        environment="production",
        state_dir=state_dir,
        api_reload=False,
        logserver_enabled=True,
        logserver_host="127.0.0.1",
        logserver_port=logserver_port,
        logserver_token="bench",  # production requires one (this server takes any)
        postgres_password="unused-by-this-bench",
        debug="",
    )
    app = create_app(settings)
    if variant == "no-middleware":
        app.user_middleware = [
            m
            for m in app.user_middleware
            if getattr(m.cls, "__name__", "") != AccessLogMiddleware.__name__
        ]
    if variant == "access-log-off":
        logging.getLogger("app.access").disabled = True
    return app


def serve(variant: str, state_dir: str, logserver_port: int, port: int) -> None:
    uvicorn.run(
        variant_app(variant, state_dir, logserver_port),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


def wrk(port: int, seconds: int) -> tuple[float, int]:
    """Requests/s and the number of requests."""
    result = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", f"http://127.0.0.1:{port}/api/v1/user/greeting"],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    count = re.search(r"(\d+) requests in", result.stdout)
    assert rate and count and "Non-2xx" not in result.stdout, result.stdout
    return float(rate.group(1)), int(count.group(1))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(variant: str, folder: Path, logserver_port: int, seconds: int) -> tuple[float, float]:
    """Requests/s, and CPU microseconds per request."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.access_log",
        "--serve",
        variant,
        str(folder),
        str(logserver_port),
        str(port),
    ]
    with Supervised(f"api-{variant}", argv, dict(os.environ), folder, signal.SIGINT) as api:
        assert api.process is not None
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 30, "the api")
        wrk(port, 2)  # warm up
        before = cpu_seconds(api.process.pid)
        rate, count = wrk(port, seconds)
        cpu = cpu_seconds(api.process.pid) - before
    return rate, cpu / count * 1e6


async def _call(app: FastAPI, count: int) -> None:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    for _ in range(count):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/user/greeting",
            "raw_path": b"/api/v1/user/greeting",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)


def _thread_cpu(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_process(rounds: int, count: int = 5_000) -> None:
    import threading

    from core.logging import configure_logging, reset_logging
    from logserver.client import LogServerHandler

    with (
        tempfile.TemporaryDirectory(dir=bench_dir()) as name,
        log_server(Path(name)) as logserver_port,
    ):
        apps = {variant: variant_app(variant, name, logserver_port) for variant in VARIANTS}
        handler = configure_logging("api", apps["access-log"].state.settings)
        assert isinstance(handler, LogServerHandler)
        shipper = handler._started()._thread.native_id
        assert shipper is not None
        me = threading.get_native_id()
        results: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        shipping_cost: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for _ in range(rounds):
            for variant, app in apps.items():
                logging.getLogger("app.access").disabled = variant == "access-log-off"
                before = _thread_cpu(me), _thread_cpu(shipper)
                asyncio.run(_call(app, count))
                assert handler.wait_delivered(60)
                caller, shipping = _thread_cpu(me) - before[0], _thread_cpu(shipper) - before[1]
                results[variant].append((caller + shipping) / count * 1e6)
                shipping_cost[variant].append(shipping / count * 1e6)
        reset_logging()
    # The least disturbed of many short runs estimates the code's own cost best.
    base = min(results["no-middleware"])
    for variant, runs in results.items():
        best = min(runs)
        print(
            f"{variant:>15}: best {best:6.1f} us CPU/request ({(best / base - 1) * 100:+5.1f}%),"
            f" median {statistics.median(runs):6.1f}, of which shipping thread "
            f"{statistics.median(shipping_cost[variant]):5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", nargs=4, metavar=("VARIANT", "STATE", "LOGPORT", "PORT"))
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.rounds)
        return
    if args.serve:
        variant, state, logport, port = args.serve
        serve(variant, state, int(logport), int(port))
        return
    with tempfile.TemporaryDirectory(dir=bench_dir()) as name:
        folder = Path(name)
        results: dict[str, list[tuple[float, float]]] = {variant: [] for variant in VARIANTS}
        with log_server(folder) as logserver_port:
            for round_number in range(args.rounds):
                for variant in VARIANTS:
                    rate, cpu = measure(variant, folder, logserver_port, args.seconds)
                    results[variant].append((rate, cpu))
                    print(
                        f"round {round_number + 1} {variant:>15}: {rate:>7,.0f} requests/s, "
                        f"{cpu:>5.0f} us CPU/request",
                        flush=True,
                    )
        for variant, runs in results.items():
            print(
                f"median {variant:>15}: {statistics.median(r for r, _ in runs):>7,.0f} "
                f"requests/s, {statistics.median(c for _, c in runs):>5.0f} us CPU/request; "
                f"best {max(r for r, _ in runs):>7,.0f} requests/s, "
                f"{min(c for _, c in runs):>5.0f} us CPU/request"
            )


if __name__ == "__main__":
    main()
