"""The line parser on its own: lines split across chunks, control lines, the seq check, stamps."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from core.records import MAX_LINE_BYTES
from logserver.protocol import LineParser

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it

NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)


def _parser(marks: dict[str, int] | None = None) -> LineParser:
    return LineParser("127.0.0.1:4000", {} if marks is None else marks, set(), lambda: NOW)


def _docs(lines: list[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in lines]


def test_a_line_split_across_chunks_is_read_whole_and_stamped() -> None:
    parser = _parser()
    first = parser.feed(b'{"message": "hel')
    second = parser.feed(b'lo", "stream": "worker"}\n{"a": 1}\n')
    assert not first.streams
    assert _docs(second.streams["worker"]) == [
        {
            "message": "hello",
            "stream": "worker",
            "received_at": "2024-05-01T12:00:00.123Z",
            "peer": "127.0.0.1:4000",
        }
    ]
    assert _docs(second.streams["app"])[0]["a"] == 1
    assert second.stored == 2


def test_sender_fields_of_the_server_are_its_own() -> None:
    batch = _parser().feed(b'{"peer": "forged", "received_at": "then"}\n{}\n')
    assert [(doc["peer"], doc["received_at"]) for doc in _docs(batch.streams["app"])] == [
        ("127.0.0.1:4000", "2024-05-01T12:00:00.123Z")
    ] * 2


def test_sync_and_auth_lines_are_not_records() -> None:
    batch = _parser().feed(b'{"auth": "x"}\n{"a": 1}\n{"sync": 7}\n{"sync": "b"}\n')
    assert batch.syncs == [7, "b"] and batch.stored == 1


def test_seqs_already_stored_or_repeated_are_dropped() -> None:
    marks = {"s1": 5}
    lines = [
        orjson.dumps({"sender": s, "seq": n})
        for s, n in [("s1", 4), ("s1", 5), ("s1", 6), ("s1", 6), ("s2", 1), ("s1", 7)]
    ]
    batch = _parser(marks).feed(b"\n".join(lines) + b"\n")
    assert [(d["sender"], d["seq"]) for d in _docs(batch.streams["app"])] == [
        ("s1", 6),
        ("s2", 1),
        ("s1", 7),
    ]
    assert batch.duplicates == 3 and batch.marks == {"s1": 7, "s2": 1}
    assert marks == {"s1": 5}  # the shared marks move only once the batch is written


def test_an_overlong_line_is_rejected_once_even_across_chunks() -> None:
    parser = _parser()
    batches = [parser.feed(b"x" * (MAX_LINE_BYTES // 2)) for _ in range(5)]
    batches.append(parser.feed(b'xxx\n{"ok": true}\n'))
    assert sum(batch.rejected for batch in batches) == 1
    assert batches[-1].stored == 1
