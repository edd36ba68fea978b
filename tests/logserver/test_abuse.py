"""The log server under abuse: a forged seq cannot silence a sender; idle connections are closed,
connections and senders capped; the other senders keep being served meanwhile."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import orjson

from logserver.client import ClientConfig, LogServerHandler
from logserver.ledger import LEDGER_FILE
from logserver.protocol import sync_line
from logserver.reader import records
from tests.support.logserver import LogServerProcess
from tests.support.processes import wait_for

HOST = "127.0.0.1"


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), 10)
    sock.settimeout(30)
    return sock


def send(sock: socket.socket, *docs: dict[str, Any]) -> dict[str, Any]:
    """Sends the documents and a sync; the server's answer (this connection's counts so far)."""
    sock.sendall(b"".join(orjson.dumps(doc) + b"\n" for doc in docs) + sync_line("s"))
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection after {reply!r}"
        reply += chunk
    answer: dict[str, Any] = orjson.loads(reply)
    return answer


def served(port: int, message: str) -> bool:
    with connect(port) as sock:
        return "stored" in send(sock, {"message": message})


def record(sender: str, seq: int, text: str) -> dict[str, Any]:
    return {"stream": "app", "message": text, "sender": sender, "seq": seq}


def messages(base: Path, stream: str = "app") -> list[str]:
    return [str(doc.get("message")) for doc in records(base, [stream])]


def test_a_forged_seq_jump_does_not_silence_a_sender(tmp_path: Path) -> None:
    with LogServerProcess(tmp_path / "logs", tmp_path) as server:
        sender = "a" * 32
        with connect(server.port) as owner:
            assert send(owner, record(sender, 1, "one"))["stored"] == 1
            # While its connection is open, the id is its alone.
            with connect(server.port) as forger:
                assert send(forger, record(sender, 2**62, "forged"))["rejected"] == 1
            assert send(owner, record(sender, 2, "two"))["stored"] == 2
        # Once it is closed, a seq far ahead is still refused, and counted.
        with connect(server.port) as forger:
            assert send(forger, record(sender, 2**62, "forged"))["rejected"] == 1
        with connect(server.port) as again:
            assert send(again, record(sender, 3, "three"))["stored"] == 1
        assert server.stop() == 0
    assert messages(tmp_path / "logs") == ["one", "two", "three"]
    reasons = [doc["reason"] for doc in records(tmp_path / "logs", ["rejects"])]
    assert reasons[0] == "sender id in use by another connection"
    assert reasons[1].startswith("seq jumps 4611686018427387902 past")


def test_idle_connections_are_closed_and_a_handler_reconnects_quietly(
    tmp_path: Path, capfd: Any
) -> None:
    with LogServerProcess(
        tmp_path / "logs", tmp_path, extra_args=["--idle-seconds", "0.5"]
    ) as server:
        with connect(server.port) as idle:
            assert idle.recv(1) == b""  # closed by the server, not by the timeout of the test
        config = ClientConfig(HOST, server.port, "idle", tmp_path / "spill")
        handler = LogServerHandler(config)
        logger = logging.Logger("idle", logging.INFO)
        logger.addHandler(handler)
        try:
            logger.info("before")
            assert handler.wait_flushed(30)
            with connect(server.port) as idle:  # one idle period passes
                assert idle.recv(1) == b""
            logger.info("after")
            assert handler.wait_flushed(30)
        finally:
            handler.close()
        assert server.stop() == 0
    assert messages(tmp_path / "logs") == ["before", "after"]
    assert "unreachable" not in capfd.readouterr().err


def test_connections_past_the_cap_are_refused_and_the_others_served(tmp_path: Path) -> None:
    with LogServerProcess(
        tmp_path / "logs", tmp_path, extra_args=["--max-connections", "2"]
    ) as server:
        with connect(server.port) as first, connect(server.port) as second:
            assert send(first, {"message": "first"})["stored"] == 1
            with connect(server.port) as third:
                third.sendall(sync_line("s"))
                reply = orjson.loads(third.recv(4096))
                assert reply == {"error": "too many connections (at most 2)"}
            assert send(second, {"message": "second"})["stored"] == 1  # its own count
        # Places freed (once the server has seen those two close): served again.
        wait_for(lambda: served(server.port, "later"), 30, "a place for a new connection")
        assert server.stop() == 0
    stored = messages(tmp_path / "logs")
    assert stored[:2] == ["first", "second"] and stored[2:] == ["later"]


def test_the_ledger_keeps_at_most_the_cap_of_senders(tmp_path: Path) -> None:
    with LogServerProcess(tmp_path / "logs", tmp_path, extra_args=["--max-senders", "3"]) as server:
        with connect(server.port) as sock:
            for number in range(10):
                assert send(sock, record(f"s{number}", 1, f"from {number}"))["stored"] == number + 1
        assert server.stop() == 0
    ledger = orjson.loads((tmp_path / "logs" / LEDGER_FILE).read_bytes())
    assert sorted(ledger["senders"]) == ["s7", "s8", "s9"]
    assert len(messages(tmp_path / "logs")) == 10
