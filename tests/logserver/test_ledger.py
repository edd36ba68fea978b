"""The ledger's marks survive a restart, and a crash: lines written after the last checkpoint are
read again on start."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logserver.ledger import Ledger

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def _write(path: Path, pairs: list[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as file:
        for sender, seq in pairs:
            file.write(orjson.dumps({"sender": sender, "seq": seq}) + b"\n")


def test_marks_come_back_from_the_checkpoint_and_the_lines_after_it(tmp_path: Path) -> None:
    current = tmp_path / "app" / "2024-05-01.jsonl"
    _write(current, [("a", 1), ("a", 2), ("b", 1)])
    ledger = Ledger(tmp_path, max_idle_days=14)
    ledger.commit({"a": 2, "b": 1})
    ledger.save(ledger.snapshot(), {"app/2024-05-01.jsonl": current.stat().st_size})
    _write(current, [("a", 3), ("b", 2)])  # written, then the server died before a checkpoint
    _write(tmp_path / "worker" / "2024-05-01.jsonl", [("c", 9)])  # a file opened since
    _write(current, [])
    with current.open("ab") as file:
        file.write(b'{"sender": "a", "seq": 4')  # cut short: never stored, never acknowledged

    restarted = Ledger(tmp_path, max_idle_days=14)
    restarted.load()
    assert restarted.marks == {"a": 3, "b": 2, "c": 9}


def test_without_a_checkpoint_recent_files_are_read(tmp_path: Path) -> None:
    _write(tmp_path / "app" / "2024-05-01.jsonl", [("a", 1), ("a", 2)])
    ledger = Ledger(tmp_path, max_idle_days=14)
    ledger.load()
    assert ledger.marks == {"a": 2}
