"""`logserver tail`: stored records, filtered, readable (`core.console`) or as stored; and
following new ones, of every stream unless told which."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from core.console import inert, render
from logserver.protocol import timestamp
from logserver.reader import Record, log_files, parse_line, read_lines, records

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_timestamp(text: str, now: datetime) -> str:
    """`90s`, `15m`, `1h`, `2d`, `1w` before `now`, as a `received_at` to compare with."""
    match = DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 1h, 2d or 1w")
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    return timestamp(now - timedelta(seconds=seconds))


@dataclass(frozen=True)
class RecordFilter:
    request_id: str | None = None
    component: str | None = None
    min_level: str | None = None
    trace_id: str | None = None

    def __post_init__(self) -> None:
        if self.min_level is not None and self.min_level.upper() not in LEVELS:
            raise ValueError(f"unknown level {self.min_level!r}: one of {', '.join(LEVELS)}")

    def matches(self, doc: Record) -> bool:
        if self.request_id is not None and doc.get("request_id") != self.request_id:
            return False
        if self.component is not None and doc.get("component") != self.component:
            return False
        if self.trace_id is not None and doc.get("trace_id") != self.trace_id.lower():
            return False
        if self.min_level is not None:
            level = LEVELS.get(str(doc.get("level", "")).upper(), 0)
            return level >= LEVELS[self.min_level.upper()]
        return True


def printer(raw: bool, colour: bool) -> Callable[[Record], str]:
    """How tail prints a record: as stored, one JSON line (`raw`, its controls as JSON escapes),
    or readably."""
    if raw:
        return lambda doc: inert(orjson.dumps(doc).decode())
    return lambda doc: render(doc, colour)


def backlog(
    base: Path, streams: Collection[str], matches: RecordFilter, since: str = "", limit: int = 0
) -> list[Record]:
    """The last `limit` matching records (all of them when 0), oldest first."""
    found = (doc for doc in records(base, streams, since) if matches.matches(doc))
    return list(deque(found, maxlen=limit or None))


class Follower:
    """New lines of the plain (still written) files, from the moment it was created on."""

    def __init__(self, base: Path, streams: Collection[str]) -> None:
        self.base = base
        self.streams = streams
        self._read: dict[tuple[str, str, int], int] = {}  # uncompressed bytes already read
        self._done: set[tuple[str, str, int]] = set()
        for file in log_files(base, streams):
            key = (file.stream, file.day, file.part)
            if file.path.name.endswith(".gz"):
                self._done.add(key)
            else:
                self._read[key] = file.path.stat().st_size

    def poll(self) -> Iterator[Record]:
        for file in log_files(self.base, self.streams):
            key = (file.stream, file.day, file.part)
            if key in self._done:
                continue
            offset = self._read.get(key, 0)
            for line in read_lines(file.path, offset):
                offset += len(line)
                doc = parse_line(line)
                if doc is not None:
                    yield doc
            self._read[key] = offset
            if file.path.name.endswith(".gz"):
                self._done.add(key)
