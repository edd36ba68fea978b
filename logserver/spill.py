"""Records not yet acknowledged by the log server, kept in order in a file until they are.

Each process claims its own file with an exclusive `flock`: `<component>.jsonl`, or
`<component>-2.jsonl`, ... when another live process holds the first. A file left by a process
that died is claimed by the next one and replayed first; the server's (sender, seq) check drops
what it had stored already.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from pathlib import Path

READ_BYTES = 1024 * 1024


class SpillFile:
    """`sent` and `acked` are offsets: lines before `acked` are stored, before `sent` are sent."""

    def __init__(self, path: Path, fd: int, max_bytes: int) -> None:
        self.path = path
        self._fd = fd
        self.max_bytes = max_bytes
        self.size = os.fstat(fd).st_size
        self.sent = self.acked = 0
        if self.size:
            self._drop_partial_line()

    @classmethod
    def claim(cls, folder: Path, component: str, max_bytes: int) -> SpillFile:
        folder.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):
            path = folder / (f"{component}.jsonl" if number == 1 else f"{component}-{number}.jsonl")
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(path, fd, max_bytes)
        raise AssertionError("unreachable")

    @property
    def pending(self) -> bool:
        """Whether the file holds lines not yet acknowledged."""
        return self.size > 0

    @property
    def unsent(self) -> bool:
        return self.sent < self.size

    def append(self, data: bytes) -> bool:
        """Adds complete lines; False (and nothing written) when the file is full."""
        if self.size + len(data) > self.max_bytes:
            return False
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(data)
        return True

    def read(self) -> tuple[bytes, int]:
        """The next complete lines after `sent` (about 1 MiB), and the offset they end at."""
        data = os.pread(self._fd, READ_BYTES, self.sent)
        end = data.rfind(b"\n") + 1
        while end == 0 and self.sent + len(data) < self.size:  # one line longer than READ_BYTES
            data += os.pread(self._fd, READ_BYTES, self.sent + len(data))
            end = data.rfind(b"\n") + 1
        self.sent += end
        return data[:end], self.sent

    def rewind(self) -> None:
        """After a lost connection: send again from the last acknowledged line."""
        self.sent = self.acked

    def clear(self) -> None:
        os.ftruncate(self._fd, 0)
        self.size = self.sent = self.acked = 0

    def close(self) -> None:
        os.close(self._fd)

    def _drop_partial_line(self) -> None:
        tail = os.pread(self._fd, min(self.size, READ_BYTES), max(0, self.size - READ_BYTES))
        keep = self.size - len(tail) + tail.rfind(b"\n") + 1
        if keep != self.size:
            os.ftruncate(self._fd, keep)
            self.size = keep
