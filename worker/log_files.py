"""Old log files under LOG_BASE_PATH: plain files of past days are gzipped, and files past the
retention deleted.

The log server does the same as it rotates; this sweep catches what it could not (it was down
at midnight, or has stopped for good). Only files quiet for `QUIET` are compressed, so a file the
server may still append to is left alone. File names and gzip are the log server's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from logserver.retention import compress_file
from logserver.storage import FileName, parse_name

QUIET = timedelta(hours=1)


def prune(base: Path, retention_days: int, now: datetime) -> dict[str, int]:
    """Compresses and deletes what is due under `base`; how many files of each."""
    today = now.date()
    oldest_kept = today - timedelta(days=retention_days - 1)
    counts = {"compressed": 0, "deleted": 0}
    for path, name in _log_files(base):
        day = datetime.strptime(name.day, "%Y-%m-%d").date()
        try:
            if day < oldest_kept:
                path.unlink()
                counts["deleted"] += 1
            elif not name.gzipped and day < today and _quiet(path, now):
                compress_file(path)
                counts["compressed"] += 1
        except FileNotFoundError:
            continue  # the log server got there first
    return counts


def _log_files(base: Path) -> Iterator[tuple[Path, FileName]]:
    """Every log file, as `<base>/<stream>/<name>`, with its parsed name."""
    if not base.is_dir():
        return
    for folder in sorted(entry for entry in base.iterdir() if entry.is_dir()):
        for path in sorted(folder.iterdir()):
            name = parse_name(path.name)
            if name is not None:
                yield path, name


def _quiet(path: Path, now: datetime) -> bool:
    return now.timestamp() - path.stat().st_mtime >= QUIET.total_seconds()
