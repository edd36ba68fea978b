"""Closed log files are gzipped, and files past the retention deleted, off the writing thread."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from logserver.storage import StorageConfig, parse_name, stream_entries

log = logging.getLogger("logserver.retention")

COPY_BYTES = 1024 * 1024


class Retention:
    """Runs compression and sweeps in one background thread, or inline (`background=False`)."""

    def __init__(self, config: StorageConfig, background: bool = True) -> None:
        self.config = config
        self._pool = ThreadPoolExecutor(1, "logserver-retention") if background else None

    def compress(self, path: Path, fd: int | None = None) -> None:
        """Gzips a closed file; `fd`, its descriptor still open, is fsynced and closed first."""
        self._run(_close_and_compress, path, fd)

    def sweep(self, today: date) -> None:
        self._run(sweep, self.config, today)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _run(self, job: Callable[..., object], *args: object) -> None:
        if self._pool is None:
            job(*args)
        else:
            self._pool.submit(job, *args).add_done_callback(_log_failure)


def _log_failure(future: Future[object]) -> None:
    if future.exception() is not None:
        log.error("retention job failed", exc_info=future.exception())


def _close_and_compress(path: Path, fd: int | None) -> None:
    if fd is not None:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    compress_file(path)


def compress_file(path: Path) -> None:
    """`path` becomes `path.gz`; the plain file goes only once the gzipped one is complete."""
    target = path.with_name(path.name + ".gz")
    partial = path.with_name(path.name + ".gz.tmp")
    try:
        with path.open("rb") as source, gzip.open(partial, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink, COPY_BYTES)
        status = path.stat()
    except FileNotFoundError:
        return  # compressed already (a sweep and a rotation both asked)
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.utime(partial, ns=(status.st_atime_ns, status.st_mtime_ns))
    os.replace(partial, target)
    path.unlink()


def sweep(config: StorageConfig, today: date, quiet_since: float | None = None) -> dict[str, int]:
    """Deletes files past the retention, and gzips plain files that are no longer written (every
    part before today's newest); how many of each.

    The server sweeps as it writes (it knows which file is current). A sweep from outside (the
    beat task, for a server that was down or is gone) passes `quiet_since`, a timestamp: files
    changed since are left alone, as the server may still be appending to them.
    """
    oldest_kept = today - timedelta(days=config.retention_days - 1)
    counts = {"compressed": 0, "deleted": 0}
    streams: dict[str, list[Path]] = {}
    for entry, stream in stream_entries(config.base):
        streams.setdefault(stream, []).append(entry)
    for paths in streams.values():
        names = [parse_name(path.name) for path in paths]
        newest_today = max((n.part for n in names if n and n.day == today.isoformat()), default=-1)
        due = _Due(oldest_kept, (today.isoformat(), newest_today), quiet_since)
        for path in paths:
            try:
                counts[due.retire(path)] += 1
            except (FileNotFoundError, KeyError):
                continue  # nothing to do, or the server (or another sweep) got there first
    return counts


@dataclass(frozen=True)
class _Due:
    """What is due in one stream folder."""

    oldest_kept: date
    current: tuple[str, int]  # (today, its newest part): that part is still being written
    quiet_since: float | None

    def retire(self, path: Path) -> str:
        """Deletes or gzips `path` if due: which ("deleted", "compressed"), else ""."""
        name = parse_name(path.name)
        if path.name.endswith(".gz.tmp") and self._quiet(path):
            path.unlink()  # left by a compression that did not finish
        elif name is None:
            return ""
        elif date.fromisoformat(name.day) < self.oldest_kept:
            path.unlink()
            log.info("deleted %s: older than the retention", path)
            return "deleted"
        elif not name.gzipped and (name.day, name.part) < self.current and self._quiet(path):
            compress_file(path)
            return "compressed"
        return ""

    def _quiet(self, path: Path) -> bool:
        return self.quiet_since is None or path.stat().st_mtime <= self.quiet_since
