"""Eight senders through the log server being stopped and restarted: every record stored once,
in each sender's order, thanks to the acks, the spill file and the (sender, seq) check."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from logserver.client import ClientConfig, LogServerHandler
from logserver.reader import records
from tests.support.logserver import LogServerProcess

SENDERS = 8


class Gate:
    """Senders stop at each phase boundary until the test lets them through."""

    def __init__(self, senders: int) -> None:
        self.arrived = threading.Barrier(senders + 1)
        self.opened = threading.Event()


def _sender(logger: logging.Logger, who: int, count: int, gates: dict[int, Gate]) -> None:
    for n in range(count):
        if n in gates:
            gates[n].arrived.wait(30)
            gates[n].opened.wait(30)
        logger.info("record %d of sender %d", n, who, extra={"who": who, "n": n})


CONFIG = ClientConfig("127.0.0.1", 0, "load", Path(), stream="load", backoff_max=0.2)


def _handlers(server: LogServerProcess, spill: Path, per_sender: int) -> list[LogServerHandler]:
    config = dataclasses.replace(CONFIG, port=server.port, spill_dir=spill, queue_size=per_sender)
    return [LogServerHandler(config) for _ in range(SENDERS)]


def _loggers(handlers: list[LogServerHandler]) -> list[logging.Logger]:
    loggers = []
    for number, handler in enumerate(handlers):
        logger = logging.Logger(f"load.sender{number}", logging.INFO)  # not in the global tree
        logger.addHandler(handler)
        loggers.append(logger)
    return loggers


@pytest.mark.parametrize(
    ("total", "stop_signal"), [(100_000, signal.SIGTERM), (24_000, signal.SIGKILL)]
)
def test_restart_loses_and_duplicates_nothing(
    tmp_path: Path, logserver_process: LogServerProcess, total: int, stop_signal: int
) -> None:
    per_sender = total // SENDERS
    stop_at, restart_at = per_sender * 4 // 10, per_sender * 7 // 10
    # The server is frozen (SIGSTOP) from `freeze_at` to the stop, so what is logged in between
    # cannot all be stored by then: a killed server stores none of it, a drained one (SIGTERM)
    # at most the window of unacknowledged batches each sender has sent.
    window = CONFIG.window * CONFIG.batch_size
    freeze_at = stop_at // 2 if stop_signal == signal.SIGKILL else stop_at - window - 500
    assert freeze_at > 0
    gates = {n: Gate(SENDERS) for n in (freeze_at, stop_at, restart_at)}
    handlers = _handlers(logserver_process, tmp_path / "spill", per_sender)
    threads = [
        threading.Thread(target=_sender, args=(logger, who, per_sender, gates))
        for who, logger in enumerate(_loggers(handlers))
    ]
    for thread in threads:
        thread.start()
    try:
        gates[freeze_at].arrived.wait(30)
        server = logserver_process.pid
        os.kill(server, signal.SIGSTOP)
        gates[freeze_at].opened.set()
        gates[stop_at].arrived.wait(30)  # 40% logged, the last of it still on its way
        code = logserver_process.stop(stop_signal, resume=True)
        assert code == (0 if stop_signal == signal.SIGTERM else -signal.SIGKILL)
        # What the first run stored is less than what was logged before it stopped: the outage
        # hit records in flight (queued, sent, unacknowledged), which the restart must deliver.
        stored_at_stop = len(list(records(logserver_process.base, ["load"])))
        assert stored_at_stop < SENDERS * stop_at, "the outage hit no record in flight"
        gates[stop_at].opened.set()
        gates[restart_at].arrived.wait(30)  # 30% more logged while the server was down
        logserver_process.start()
        gates[restart_at].opened.set()
        for thread in threads:
            thread.join(60)
        assert all(handler.wait_delivered(60) for handler in handlers)
        assert not any(handler.dropped for handler in handlers)
    finally:
        for gate in gates.values():
            gate.opened.set()
        for handler in handlers:
            handler.close()
    assert logserver_process.stop() == 0

    stored = list(records(logserver_process.base, ["load"]))
    assert len(stored) == total
    by_sender: dict[int, list[int]] = defaultdict(list)
    for doc in stored:
        by_sender[doc["who"]].append(doc["n"])
    assert by_sender == {who: list(range(per_sender)) for who in range(SENDERS)}
