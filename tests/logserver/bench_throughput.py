"""Records/s the log server stores on loopback: not a test, run it by hand.

    .venv/bin/python -m tests.logserver.bench_throughput [--records 800000]

`raw`: sender processes that send pre-encoded records (about 300 bytes, with sender and seq, as
the handler writes them) in batches of 1,000 with a sync each, at most 4 batches unacknowledged:
what the server sustains, every line validated. `handler`: processes that call `logging.info`
through `LogServerHandler` as fast as they can: what an application reaches (the stdlib's own
LogRecord costs most of it).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import socket
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from app.settings import ROOT
from logserver.client import ClientConfig, LogServerHandler
from logserver.protocol import sync_line
from tests.logserver.process import LogServerProcess

BATCH = 1000
WINDOW = 4


def bench_dir() -> Path:
    """Under the checkout's state folder, like everything the stack writes."""
    folder = ROOT / ".state" / "logserver-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _raw_batches(count: int) -> list[bytes]:
    sender = uuid.uuid4().hex
    base = {
        "ts": "2024-05-01T12:00:00.000Z",
        "level": "INFO",
        "logger": "bench.sender",
        "component": "bench",
        "stream": "bench",
        "host": "bench-host",
        "pid": 4242,
        "message": "GET /api/v1/user/greeting 200 0.42ms",
        "request_id": uuid.uuid4().hex,
    }
    lines = [
        orjson.dumps({**base, "n": seq, "sender": sender, "seq": seq}) + b"\n"
        for seq in range(1, count + 1)
    ]
    return [b"".join(lines[i : i + BATCH]) + sync_line(i) for i in range(0, count, BATCH)]


def _raw_sender(port: int, count: int, start: multiprocessing.synchronize.Event) -> None:
    batches = _raw_batches(count)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start.wait()
        pending, buffer = 0, b""
        for batch in batches:
            sock.sendall(batch)
            pending += 1
            while pending >= WINDOW:
                buffer += sock.recv(65536)
                *replies, buffer = buffer.split(b"\n")
                pending -= len(replies)
        while pending > 0:
            buffer += sock.recv(65536)
            *replies, buffer = buffer.split(b"\n")
            pending -= len(replies)


def _handler_sender(
    port: int, count: int, spill: str, start: multiprocessing.synchronize.Event
) -> None:
    handler = LogServerHandler(
        ClientConfig("127.0.0.1", port, "bench", Path(spill), stream="bench", queue_size=count)
    )
    logger = logging.getLogger("bench.handler")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    start.wait()
    for n in range(count):
        logger.info("GET /api/v1/user/greeting 200 %.2fms", 0.42, extra={"n": n})
    assert handler.wait_delivered(120)
    handler.close()


def measure(kind: str, senders: int, total: int, port: int, spill: str) -> float:
    start = multiprocessing.Event()
    target, args = (
        (_raw_sender, (port, total // senders, start))
        if kind == "raw"
        else (_handler_sender, (port, total // senders, spill, start))
    )
    processes = [multiprocessing.Process(target=target, args=args) for _ in range(senders)]
    for process in processes:
        process.start()
    time.sleep(1.0 if kind == "raw" else 0.3)  # let them pre-encode before the clock starts
    began = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        assert process.exitcode == 0
    return total / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=800_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=bench_dir()) as folder:
        server = LogServerProcess(Path(folder) / "logs", Path(folder))
        with server:
            for kind, total in (("raw", args.records), ("handler", args.records // 4)):
                for senders in (1, 8):
                    rate = measure(kind, senders, total, server.port, folder + "/spill")
                    print(f"{kind:>8} {senders} sender(s): {rate:>10,.0f} records/s")


if __name__ == "__main__":
    main()
