"""Closed log files are gzipped, and files past the retention deleted, off the writing thread."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from logserver.storage import StorageConfig, parse_name

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


def sweep(config: StorageConfig, today: date) -> None:
    """Deletes files past the retention, and gzips files left closed but plain (by a crash)."""
    oldest_kept = today - timedelta(days=config.retention_days - 1)
    if not config.base.is_dir():
        return
    for folder in (entry for entry in config.base.iterdir() if entry.is_dir()):
        names = {entry.name: parse_name(entry.name) for entry in folder.iterdir()}
        parts_today = [n.part for n in names.values() if n and n.day == today.isoformat()]
        newest_today = max(parts_today, default=-1)
        for name, parsed in names.items():
            path = folder / name
            if name.endswith(".gz.tmp"):
                path.unlink(missing_ok=True)
            elif parsed is None:
                continue
            elif date.fromisoformat(parsed.day) < oldest_kept:
                path.unlink(missing_ok=True)
                log.info("deleted %s: older than %d days", path, config.retention_days)
            elif not parsed.gzipped and (parsed.day, parsed.part) < (
                today.isoformat(),
                newest_today,
            ):
                compress_file(path)
