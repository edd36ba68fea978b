"""The last seq stored for each sender, so that a batch resent after a lost ack is stored once.

`marks` moves only once a batch is written. A checkpoint saves the marks with the sizes of the
files they cover (after those are fsynced); on start, the lines written past the last checkpoint
(by a server that crashed) are read again, so the marks never lag behind what the files hold.

It holds at most `max_senders` senders: past that, the one seen longest ago is forgotten (a batch
it resends later could be stored twice), so that a flood of sender ids cannot grow the ledger,
rewritten every second, without bound.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from logserver.reader import parse_line, read_lines
from logserver.storage import parse_name, stream_entries

log = logging.getLogger("logserver.ledger")

LEDGER_FILE = ".ledger.json"
DAY_SECONDS = 86400

Snapshot = dict[str, tuple[int, float]]


class Ledger:
    def __init__(self, base: Path, max_idle_days: int, max_senders: int = 10_000) -> None:
        self.base = base
        self.path = base / LEDGER_FILE
        self.max_idle = max_idle_days * DAY_SECONDS
        self.max_senders = max_senders
        self.marks: dict[str, int] = {}
        self.forgotten = 0  # senders forgotten for the cap
        self._seen: dict[str, float] = {}  # in the order last seen

    def load(self) -> None:
        """The saved marks, plus those of lines written after the checkpoint."""
        saved = self._read_checkpoint()
        for sender, mark in saved.get("senders", {}).items():
            if isinstance(mark, list) and len(mark) == 2:
                self.marks[str(sender)], self._seen[str(sender)] = int(mark[0]), float(mark[1])
        files = {str(k): v for k, v in saved.get("files", {}).items() if type(v) is int}
        saved_at = self.path.stat().st_mtime if saved else time.time() - DAY_SECONDS
        for path, offset in self._unsaved(files, saved_at):
            self._scan(path, offset)
        self._seen = dict(sorted(self._seen.items(), key=lambda item: item[1]))
        while len(self._seen) > self.max_senders:
            self._forget(next(iter(self._seen)))

    def commit(self, marks: dict[str, int]) -> None:
        """A batch with these last seqs is written."""
        self.marks.update(marks)
        now, seen = time.time(), self._seen
        for sender in marks:
            seen.pop(sender, None)
            seen[sender] = now
        while len(seen) > self.max_senders:
            self._forget(next(iter(seen)))

    def _forget(self, sender: str) -> None:
        if not self.forgotten:
            log.warning("more than %d senders: forgetting the least recent", self.max_senders)
        self.forgotten += 1
        del self._seen[sender]
        self.marks.pop(sender, None)

    def snapshot(self) -> Snapshot:
        """The marks to save, without senders idle for longer than the retention."""
        cutoff = time.time() - self.max_idle
        for sender in [s for s, seen in self._seen.items() if seen < cutoff]:
            del self._seen[sender], self.marks[sender]
        return {sender: (seq, self._seen.get(sender, 0.0)) for sender, seq in self.marks.items()}

    def save(self, snapshot: Snapshot, sizes: dict[str, int]) -> None:
        """Writes a checkpoint atomically; call it once the files of `sizes` are fsynced."""
        partial = self.path.with_name(LEDGER_FILE + ".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, orjson.dumps({"files": sizes, "senders": snapshot}))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, self.path)

    def _read_checkpoint(self) -> dict[str, dict[str, Any]]:
        try:
            saved = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except orjson.JSONDecodeError:
            log.warning("%s is damaged: recovering the marks from recent files", self.path)
            return {}
        return saved if isinstance(saved, dict) else {}

    def _unsaved(self, files: dict[str, int], saved_at: float) -> Iterator[tuple[Path, int]]:
        """Files with lines past the checkpoint: listed ones past their size, and newer ones."""
        for entry, _ in stream_entries(self.base):
            plain = str(entry.relative_to(self.base)).removesuffix(".gz")
            if parse_name(entry.name) is None:
                continue
            if plain in files:
                yield entry, files[plain]
            elif entry.stat().st_mtime >= saved_at:
                yield entry, 0

    def _scan(self, path: Path, offset: int) -> None:
        for line in read_lines(path, offset):
            doc = parse_line(line)
            if doc is None:
                continue
            sender, seq = doc.get("sender"), doc.get("seq")
            if isinstance(sender, str) and type(seq) is int and seq > self.marks.get(sender, 0):
                self.marks[sender] = seq
                self._seen[sender] = time.time()
