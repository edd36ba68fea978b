"""Where records land: one append-only JSON-lines file per stream and UTC day, rotated by size.

`<base>/<stream>/<YYYY-MM-DD>.jsonl` is a day's first file; when it would pass the rotation size
the next part is `<YYYY-MM-DD>.1.jsonl`, then `.2`, ... A file is closed when it is full or its day
is over, and handed to the retention (which gzips it to `<name>.jsonl.gz`). Files are never
renamed while open, so a crash leaves nothing half-moved.

Writes go to the page cache on the caller's thread (the event loop): they are quick, and when the
disk is slow they block, which pauses reading from every sender. Nothing here fsyncs on that
thread: `checkpoint()` hands out duplicated descriptors for another thread to fsync.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple, Protocol

LOG_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl(\.gz)?$")


@dataclass(frozen=True)
class StorageConfig:
    base: Path
    rotate_bytes: int = 64 * 1024 * 1024
    retention_days: int = 14


class Housekeeping(Protocol):
    """What Storage hands closed files and new days to (logserver.retention.Retention)."""

    def compress(self, path: Path, fd: int) -> None: ...

    def sweep(self, today: date) -> None: ...


class FileName(NamedTuple):
    day: str
    part: int
    gzipped: bool


def parse_name(name: str) -> FileName | None:
    match = LOG_FILE.match(name)
    if match is None:
        return None
    day, part, gz = match.groups()
    return FileName(day, int(part or 0), gz is not None)


def stream_entries(base: Path, streams: Collection[str] = ()) -> Iterator[tuple[Path, str]]:
    """Every entry of every stream folder under `base` (of `streams`, when given), as (path,
    stream), stream by stream in name order: the one walk of the log folder."""
    folders = sorted(base.iterdir()) if base.is_dir() else []
    for folder in folders:
        if folder.is_dir() and (not streams or folder.name in streams):
            for entry in sorted(folder.iterdir()):
                yield entry, folder.name


def file_name(day: str, part: int) -> str:
    return f"{day}.jsonl" if part == 0 else f"{day}.{part}.jsonl"


def utc_now() -> datetime:
    return datetime.now(UTC)


class OpenFile:
    """A log file open for appending, with its size."""

    def __init__(self, path: Path, day: str, part: int) -> None:
        self.path, self.day, self.part = path, day, part
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.size = os.fstat(self.fd).st_size
        self.dirty = False
        if self.size and os.pread(self.fd, 1, self.size - 1) != b"\n":
            self.write(b"\n")  # a line cut short by a crash must not swallow the next one

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.size += len(data)
        self.dirty = True

    def close(self) -> None:
        if self.dirty:
            os.fsync(self.fd)
        os.close(self.fd)


class Storage:
    """Appends batches of lines to the files of their streams. Used by one thread at a time."""

    def __init__(
        self,
        config: StorageConfig,
        retention: Housekeeping,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self._retention = retention
        self._clock = clock
        self._files: dict[str, OpenFile] = {}
        self._day: date | None = None
        self._dirty = False

    def write(self, streams: Mapping[str, list[bytes]]) -> None:
        day = self._today().isoformat()
        for stream, lines in streams.items():
            self._append(stream, day, lines)
        self._dirty = True

    def checkpoint(self) -> tuple[list[int], dict[str, int]] | None:
        """After writes: duplicates of the written files' descriptors, to fsync and close on
        another thread, and the open files' sizes (relative paths). Also closes the files of a
        day that is over."""
        self._today()
        if not self._dirty:
            return None
        self._dirty = False
        fds = []
        for file in self._files.values():
            if file.dirty:
                fds.append(os.dup(file.fd))
                file.dirty = False
        return fds, self.sizes()

    def sizes(self) -> dict[str, int]:
        return {str(f.path.relative_to(self.config.base)): f.size for f in self._files.values()}

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()

    def _today(self) -> date:
        today = self._clock().date()
        if today != self._day:
            for stream, file in list(self._files.items()):
                if file.day != today.isoformat():
                    self._close(stream)
            self._day = today
            self._retention.sweep(today)
        return today

    def _append(self, stream: str, day: str, lines: list[bytes]) -> None:
        file = self._files.get(stream) or self._open(stream, day)
        limit = self.config.rotate_bytes
        data = b"\n".join(lines) + b"\n"
        if file.size + len(data) <= limit:
            file.write(data)
            return
        run: list[bytes] = []
        size = file.size
        for line in lines:
            if size + len(line) + 1 > limit and size > 0:
                if run:
                    file.write(b"".join(run))
                file = self._rotate(stream, file)
                run, size = [], 0
            run.append(line + b"\n")
            size += len(line) + 1
        file.write(b"".join(run))

    def _open(self, stream: str, day: str) -> OpenFile:
        folder = self.config.base / stream
        folder.mkdir(parents=True, exist_ok=True)
        parts = [n for n in map(parse_name, os.listdir(folder)) if n is not None and n.day == day]
        part = 0
        if parts:
            last = max(parts, key=lambda n: (n.part, n.gzipped))
            full = last.gzipped or (folder / file_name(day, last.part)).stat().st_size >= (
                self.config.rotate_bytes
            )
            part = last.part + 1 if full else last.part
        file = self._files[stream] = OpenFile(folder / file_name(day, part), day, part)
        return file

    def _rotate(self, stream: str, file: OpenFile) -> OpenFile:
        self._close(stream)
        part = file.part + 1
        new = self._files[stream] = OpenFile(
            file.path.with_name(file_name(file.day, part)), file.day, part
        )
        return new

    def _close(self, stream: str) -> None:
        file = self._files.pop(stream)
        self._retention.compress(file.path, file.fd)  # fsyncs, closes and gzips it


def fsync_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
