"""The log maintenance task's sweep (the log server's own, from outside it): gzip plain files no
longer written and quiet, delete past the retention."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.groups import IMPORTS_THE_APP

# No server, no service: make test-fast runs it. The worker's tasks are imported where they are
# used, so that collecting this module imports no Celery (tests/support/groups.py).
pytestmark = [pytest.mark.fast, IMPORTS_THE_APP]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tasks() -> ModuleType:
    import worker.tasks

    return worker.tasks


def log_file(base: Path, name: str, age: timedelta, stream: str = "app") -> Path:
    path = base / stream / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"message": "x"}\n')
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_prune_compresses_quiet_past_days_and_deletes_past_the_retention(
    tasks: ModuleType, tmp_path: Path
) -> None:
    quiet, prune = tasks.LOG_QUIET, tasks.prune_log_files_now
    expired = log_file(tmp_path, "2026-03-01.jsonl.gz", timedelta(days=8))
    old_plain = log_file(tmp_path, "2026-03-05.1.jsonl", timedelta(days=4), stream="access")
    yesterday = log_file(tmp_path, "2026-03-09.jsonl", quiet + timedelta(minutes=1))
    still_written = log_file(tmp_path, "2026-03-09.1.jsonl", quiet - timedelta(minutes=1))
    today = log_file(tmp_path, "2026-03-10.jsonl", timedelta(days=1))
    stranger = log_file(tmp_path, "notes.txt", timedelta(days=30))

    assert prune(tmp_path, retention_days=7, now=NOW) == {"compressed": 2, "deleted": 1}

    assert not expired.exists() and not old_plain.exists() and not yesterday.exists()
    for plain in (old_plain, yesterday):
        with gzip.open(plain.with_name(plain.name + ".gz"), "rt") as unzipped:
            assert unzipped.read() == '{"message": "x"}\n'
    assert still_written.exists() and today.exists() and stranger.exists()


def test_prune_without_a_log_folder_does_nothing(tasks: ModuleType, tmp_path: Path) -> None:
    swept = tasks.prune_log_files_now(tmp_path / "missing", retention_days=7, now=NOW)
    assert swept == {"compressed": 0, "deleted": 0}
