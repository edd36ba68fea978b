"""Files per stream and day, rotated by size and by day, gzipped once closed, deleted past the
retention: a Storage driven by a clock the test moves."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logserver.reader import log_files, read_records
from logserver.retention import Retention, sweep
from logserver.storage import Storage, StorageConfig

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _lines(first: int, count: int, pad: int = 80) -> list[bytes]:
    return [b'{"n":%d,"pad":"%s"}' % (n, b"x" * pad) for n in range(first, first + count)]


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _storage(
    base: Path, clock: Clock, rotate_bytes: int = 1024, retention_days: int = 3
) -> Storage:
    config = StorageConfig(base, rotate_bytes=rotate_bytes, retention_days=retention_days)
    return Storage(config, Retention(config, background=False), clock)


def test_rotation_by_size_keeps_every_line_in_order(tmp_path: Path) -> None:
    storage = _storage(tmp_path, Clock(datetime(2024, 5, 1, 12, tzinfo=UTC)))
    for first in range(0, 100, 10):
        storage.write({"app": _lines(first, 10)})
    storage.close()
    names = _names(tmp_path / "app")
    assert names[0] == "2024-05-01.1.jsonl.gz" and names[-1] == "2024-05-01.jsonl.gz"
    assert "2024-05-01.jsonl" not in names and len(names) > 5
    files = log_files(tmp_path, ["app"])
    assert [f.part for f in files] == list(range(len(files)))
    numbers = [doc["n"] for f in files for doc in read_records(f.path)]
    assert numbers == list(range(100))
    plain_sizes = [len(gzip.decompress(f.path.read_bytes())) for f in files[:-1]]
    assert all(size <= 1024 for size in plain_sizes)


def test_the_open_file_is_plain_and_a_restart_appends_to_it(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 1, 12, tzinfo=UTC))
    storage = _storage(tmp_path, clock, rotate_bytes=10_000)
    storage.write({"app": _lines(0, 5)})
    storage.close()
    with (tmp_path / "app" / "2024-05-01.jsonl").open("ab") as file:
        file.write(b'{"n":5,"cut short by a cra')  # what a crash mid-write can leave
    storage = _storage(tmp_path, clock, rotate_bytes=10_000)
    storage.write({"app": _lines(6, 2)})
    storage.close()
    assert _names(tmp_path / "app") == ["2024-05-01.jsonl"]
    numbers = [doc["n"] for doc in read_records(tmp_path / "app" / "2024-05-01.jsonl")]
    assert numbers == [0, 1, 2, 3, 4, 6, 7]


def test_rotation_by_day_gzips_yesterday_and_retention_deletes_old_days(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 1, 23, 59, tzinfo=UTC))
    storage = _storage(tmp_path, clock, rotate_bytes=1 << 20, retention_days=3)
    for day in range(5):
        storage.write({"app": _lines(day * 10, 10), "access": _lines(day * 10, 1)})
        clock.now += timedelta(days=1)
    storage.checkpoint()  # notices the new day even without a write
    storage.close()
    expected = ["2024-05-04.jsonl.gz", "2024-05-05.jsonl.gz"]
    assert _names(tmp_path / "app") == expected
    assert _names(tmp_path / "access") == expected
    numbers = [doc["n"] for f in log_files(tmp_path, ["app"]) for doc in read_records(f.path)]
    assert numbers == list(range(30, 50))


def test_sweep_gzips_closed_files_left_plain_and_removes_partial_gzips(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    for name in (
        "2024-05-01.jsonl",
        "2024-05-02.jsonl",
        "2024-05-02.1.jsonl",
        "2024-05-02.1.jsonl.gz.tmp",
        "notes.txt",
    ):
        (folder / name).write_bytes(b'{"n":1}\n')
    sweep(StorageConfig(tmp_path, retention_days=7), datetime(2024, 5, 2, tzinfo=UTC).date())
    assert _names(folder) == [
        "2024-05-01.jsonl.gz",
        "2024-05-02.1.jsonl",
        "2024-05-02.jsonl.gz",
        "notes.txt",
    ]
