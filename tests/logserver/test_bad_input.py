"""Garbage on a connection is counted and kept as rejects; valid lines after it are stored, and
other senders are served meanwhile."""

from __future__ import annotations

import random
import socket

import orjson
import pytest

from core.records import MAX_LINE_BYTES
from logserver.client import ping
from logserver.protocol import sync_line
from logserver.reader import records
from tests.support.logserver import InProcessLogServer

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def _exchange(sock: socket.socket, data: bytes) -> dict[str, object]:
    """Sends `data` (ending with a sync) and returns the server's reply."""
    sock.sendall(data)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        reply += chunk
    doc = orjson.loads(reply)
    assert isinstance(doc, dict)
    return doc


def _records(label: str, count: int) -> bytes:
    return b"".join(
        orjson.dumps({"stream": "app", "label": label, "n": n}) + b"\n" for n in range(count)
    )


def test_random_bytes_then_valid_records(logserver: InProcessLogServer) -> None:
    garbage = random.Random(7).randbytes(1024 * 1024)
    # Every non-blank piece between newlines is one reject (none is a JSON object).
    expected_rejects = sum(1 for piece in garbage.split(b"\n") if piece.strip())
    address = ("127.0.0.1", logserver.port)
    with socket.create_connection(address) as noisy, socket.create_connection(address) as other:
        noisy.sendall(garbage[: len(garbage) // 2])
        assert _exchange(other, _records("other", 100) + sync_line(1))["stored"] == 100
        reply = _exchange(
            noisy, garbage[len(garbage) // 2 :] + b"\n" + _records("valid", 1000) + sync_line("end")
        )
        assert reply == {
            "synced": "end",
            "stored": 1000,
            "duplicates": 0,
            "rejected": expected_rejects,
        }
        assert _exchange(noisy, _records("after", 10) + sync_line(2))["stored"] == 1010
    ping("127.0.0.1", logserver.port)
    assert logserver.stop() == 0

    stored = list(records(logserver.base, ["app"]))
    assert [doc["n"] for doc in stored if doc["label"] == "valid"] == list(range(1000))
    assert sum(1 for doc in stored if doc["label"] == "other") == 100
    rejects = list(records(logserver.base, ["rejects"]))
    assert len(rejects) == expected_rejects
    assert {doc["reason"] for doc in rejects} <= {"not UTF-8", "not JSON", "not a JSON object"}


def test_each_kind_of_bad_line_is_rejected_with_its_reason(logserver: InProcessLogServer) -> None:
    bad = [
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[1, 2]",
        b'{"stream": "../etc"}',
        b'{"sender": "s", "seq": "one"}',
        b"x" * (MAX_LINE_BYTES + 1),
    ]
    with socket.create_connection(("127.0.0.1", logserver.port)) as sock:
        reply = _exchange(sock, b"\n".join(bad) + b"\n\n  \n" + _records("ok", 1) + sync_line(1))
    assert reply["rejected"] == len(bad) and reply["stored"] == 1
    assert logserver.stop() == 0
    reasons = [doc["reason"] for doc in records(logserver.base, ["rejects"])]
    assert sorted(reasons) == sorted(
        [
            "not UTF-8",
            "not JSON",
            "not a JSON object",
            "bad stream name",
            "sender without an integer seq",
            "line over 64 KiB",
        ]
    )
