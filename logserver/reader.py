"""Reading stored records back: every stream's files in order, plain or gzipped."""

from __future__ import annotations

import gzip
import heapq
import itertools
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from io import BufferedIOBase
from pathlib import Path
from typing import Any

import orjson

from logserver.storage import parse_name, stream_entries

Record = dict[str, Any]


@dataclass(frozen=True, order=True)
class LogFile:
    stream: str
    day: str
    part: int
    path: Path = field(compare=False)


def log_files(base: Path, streams: Collection[str] = (), since_day: str = "") -> list[LogFile]:
    """The files of `streams` (all when empty) from `since_day` on, in (stream, day, part) order."""
    found: dict[tuple[str, str, int], Path] = {}
    for entry, stream in stream_entries(base, streams):
        name = parse_name(entry.name)
        if name is None or name.day < since_day:
            continue
        key = (stream, name.day, name.part)
        if name.gzipped or key not in found:  # while both exist, the gzipped one is complete
            found[key] = entry
    return sorted(LogFile(*key, path) for key, path in found.items())


def open_log(path: Path) -> BufferedIOBase:
    """Opens a log file, or its gzipped successor if it was compressed meanwhile."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    try:
        return path.open("rb")
    except FileNotFoundError:
        return gzip.open(path.with_name(path.name + ".gz"), "rb")


def read_lines(path: Path, offset: int = 0) -> Iterator[bytes]:
    """Complete lines from byte `offset` (of the uncompressed content) on."""
    with open_log(path) as file:
        if offset:
            file.seek(offset)
        for line in file:
            if line.endswith(b"\n"):
                yield line


def parse_line(line: bytes) -> Record | None:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def read_records(path: Path, offset: int = 0) -> Iterator[Record]:
    for line in read_lines(path, offset):
        doc = parse_line(line)
        if doc is not None:
            yield doc


def records(base: Path, streams: Collection[str] = (), since: str = "") -> Iterator[Record]:
    """Records of `streams` received at or after `since` (ISO 8601 UTC), all streams merged by time.

    Each stream's records come in the order they were stored; `received_at` interleaves them.
    """
    by_stream = itertools.groupby(log_files(base, streams, since[:10]), key=lambda f: f.stream)
    merged = heapq.merge(
        *(_stream_records([f.path for f in files]) for _, files in by_stream),
        key=lambda doc: str(doc.get("received_at", "")),
    )
    return (doc for doc in merged if str(doc.get("received_at", "")) >= since)


def _stream_records(paths: list[Path]) -> Iterator[Record]:
    for path in paths:
        yield from read_records(path)
