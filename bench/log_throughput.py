"""Records/s the log server stores, from N sender processes speaking its wire protocol (JSON
lines, a `{"sync": id}` after each batch of 1,000, at most 4 batches unacknowledged): what the
server sustains with every line validated and written, acknowledged before the clock stops."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
import uuid
from collections.abc import Mapping
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import orjson

from bench import BenchError
from logserver.cli import serve_argv
from scripts.ports import free_port
from scripts.probes import logserver_answers
from scripts.supervise import HOST, Supervised

BATCH = 1000
WINDOW = 4
RECORDS = 160_000  # per measurement, split between the senders
START_TIMEOUT = 30


def throughput(
    env: Mapping[str, str], data_dir: Path, log_dir: Path, sender_counts: tuple[int, ...] = (1, 8)
) -> dict[str, float]:
    """Records/s with each number of senders, against one `python -m logserver serve`."""
    port = free_port()
    argv = serve_argv(port, data_dir, "--host", HOST)
    with Supervised(
        "logserver", argv, {**env, "LOGSERVER_TOKEN": ""}, log_dir, signal.SIGTERM
    ) as server:
        server.wait_until(lambda: logserver_answers(port), START_TIMEOUT, "answering a sync")
        return {
            f"{count}_sender{'s' if count > 1 else ''}": _measure(port, count)
            for count in sender_counts
        }


def _measure(port: int, senders: int) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(senders + 1)
    results: multiprocessing.Queue[tuple[int, float]] = context.Queue()
    each = RECORDS // senders
    processes = [
        context.Process(target=_send, args=(port, each, start, results)) for _ in range(senders)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=START_TIMEOUT)
        began = time.monotonic()
        reports: list[tuple[int, float]] = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    stored = sum(report[0] for report in reports)
    if stored != each * senders:
        raise BenchError(f"log server stored {stored} of {each * senders} records")
    return stored / (max(report[1] for report in reports) - began)


def _batches(count: int) -> list[bytes]:
    sender = uuid.uuid4().hex
    base = {
        "ts": "2024-05-01T12:00:00.000Z",
        "level": "INFO",
        "logger": "app.access",
        "component": "api",
        "stream": "access",
        "host": "bench",
        "pid": 4242,
        "message": "GET /api/v1/user/greeting 200 0.42ms",
        "method": "GET",
        "path": "/api/v1/user/greeting",
        "status": 200,
        "duration_ms": 0.42,
    }
    lines = [
        orjson.dumps({**base, "request_id": uuid.uuid4().hex, "sender": sender, "seq": seq}) + b"\n"
        for seq in range(1, count + 1)
    ]
    return [
        b"".join(lines[i : i + BATCH]) + orjson.dumps({"sync": i}) + b"\n"
        for i in range(0, count, BATCH)
    ]


def _send(port: int, count: int, start: Barrier, results: Any) -> None:
    """One sender: pre-encodes, waits for the others, sends, returns (stored, finish time)."""
    batches = _batches(count)
    with socket.create_connection((HOST, port)) as sock:
        start.wait()
        pending, buffer, last = 0, b"", b""
        for index, batch in enumerate(batches):
            sock.sendall(batch)
            pending += 1
            done = index == len(batches) - 1
            while pending >= WINDOW or (done and pending):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("the log server closed the connection")
                *replies, buffer = (buffer + chunk).split(b"\n")
                pending -= len(replies)
                last = replies[-1] if replies else last
    results.put((orjson.loads(last)["stored"], time.monotonic()))
