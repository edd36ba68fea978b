"""The wire protocol: newline-delimited JSON over TCP, validated one line at a time.

## Sending logs to the log server

The log server (`python -m logserver serve`; port 7779 + `PORT_OFFSET`, loopback only unless
told otherwise) reads newline-delimited JSON over TCP: one JSON object per line, UTF-8, at most
64 KiB a line. A program in any language can send to it:

    printf '{"stream": "app", "level": "INFO", "message": "hello"}\\n' | nc -q1 127.0.0.1 7779

- **Records.** Any JSON object. `stream` (1-64 of `a-z 0-9 _ -`, default `app`) picks the file,
  `<LOG_BASE_PATH>/<stream>/<YYYY-MM-DD>.jsonl` (UTC day; `<day>.<n>.jsonl` once a file reaches
  the rotation size; closed files are gzipped). The server adds `received_at` (UTC, ms) and
  `peer` (`host:port`) and stores the line otherwise as sent. The fields our handler writes:
  `ts`, `level`, `logger`, `component`, `stream`, `host`, `pid`, `message`, `request_id`, `exc`,
  and the caller's extra fields.
- **Auth.** The first line may be `{"auth": "<token>"}`. A server started with a token (required
  when it binds beyond loopback) answers any other first line with `{"error": "..."}` and closes.
- **Acknowledgements.** A line `{"sync": <id>}` (any JSON value as id) makes the server answer
  `{"synced": <id>, "stored": n, "duplicates": n, "rejected": n}` (this connection's counts so
  far) once every line before it is written to its file. A sender that never syncs gets no reply.
- **Exactly once.** A sender that may resend (after a connection dies with a batch not yet
  acknowledged) tags its records with `"sender": "<unique id>"` and `"seq": <int from 1, +1 a
  record>`. The server stores a record only if its seq is above the last one it stored for that
  sender (kept across restarts in `<LOG_BASE_PATH>/.ledger.json`), so a resent batch is stored
  once and every sender's records stay in order. A sender id belongs to the connection that
  uses it first, while that one is open: another connection's records of it are rejected. A seq
  more than 1,000,000 past the sender's last is rejected too, so that nobody can silence a
  sender by sending its id with a seq far ahead.
- **Bad lines** (not UTF-8, not JSON, not an object, over 64 KiB, bad stream, bad sender/seq)
  are counted and kept in the `rejects` stream with the reason; the next line is read as usual.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import orjson

from core.records import MAX_LINE_BYTES

DEFAULT_STREAM = "app"
REJECTS_STREAM = "rejects"
MAX_STREAMS = 1000
REJECT_HEAD_BYTES = 256
STREAM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# A seq this far past a sender's mark is not plausible: more than a full spill file of records
# its handler dropped. Refused, or one forged line would make the server drop the sender's next
# records as already stored.
MAX_SEQ_JUMP = 1_000_000
CLOSING_BRACE = ord("}")


def auth_line(token: str) -> bytes:
    return orjson.dumps({"auth": token}) + b"\n"


def sync_line(sync_id: object) -> bytes:
    return orjson.dumps({"sync": sync_id}) + b"\n"


def error_line(message: str) -> bytes:
    return orjson.dumps({"error": message}) + b"\n"


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`, the format of `ts` and `received_at`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Counts:
    """Lines stored, dropped as already stored, and rejected."""

    __slots__ = ("stored", "duplicates", "rejected")

    def __init__(self) -> None:
        self.stored = self.duplicates = self.rejected = 0

    def add(self, other: Counts) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected}


class Batch(Counts):
    """What a chunk of input came to: lines to store per stream, syncs to answer, seq marks."""

    __slots__ = ("streams", "syncs", "marks")

    def __init__(self) -> None:
        super().__init__()
        self.streams: dict[str, list[bytes]] = {}
        self.syncs: list[object] = []
        self.marks: dict[str, int] = {}


class LineParser:
    """Splits one connection's bytes into lines and validates each; bad input never raises.

    `marks` (the last seq stored per sender, read here and updated once a batch is written),
    `streams` (stream names seen) and `owners` (which connection's parser holds each sender id)
    are shared by all connections, so that a batch resent on a new connection is recognised and
    a sender's marks move only through the connection that holds it. `release` when the
    connection closes.
    """

    def __init__(
        self,
        peer: str,
        marks: dict[str, int],
        streams: set[str],
        clock: Callable[[], datetime],
        owners: dict[str, LineParser] | None = None,
    ) -> None:
        self._peer = peer
        self._marks = marks
        self._streams = streams
        self._clock = clock
        self._owners: dict[str, LineParser] = {} if owners is None else owners
        self._held: set[str] = set()
        self._tail = b""
        self._discarding = False
        self._now = ""

    def feed(self, data: bytes) -> Batch:
        batch = Batch()
        self._now = timestamp(self._clock())
        if self._tail:
            data = self._tail + data
        lines = data.split(b"\n")
        self._tail = lines.pop()
        if lines and self._discarding:
            self._discarding = False
            del lines[0]  # the end of a line already rejected as too long
        if lines:
            self._parse(lines, batch)
        if len(self._tail) > MAX_LINE_BYTES:
            if not self._discarding:
                self._reject(batch, self._tail, "line over 64 KiB")
            self._discarding = True
            self._tail = b""
        return batch

    def _parse(self, lines: list[bytes], batch: Batch) -> None:
        suffix = f',"received_at":"{self._now}","peer":"{self._peer}"}}'.encode()
        loads, streams, known, marks = orjson.loads, batch.streams, self._streams, self._marks
        batch_marks, held = batch.marks, self._held
        stored = 0
        for line in lines:
            if len(line) > MAX_LINE_BYTES:
                self._reject(batch, line, "line over 64 KiB")
                continue
            try:
                doc = loads(line)
            except orjson.JSONDecodeError:
                if line.strip():
                    self._reject(batch, line, _decode_error(line))
                continue
            if type(doc) is not dict:
                self._reject(batch, line, "not a JSON object")
                continue
            if len(doc) == 1 and ("sync" in doc or "auth" in doc):
                if "sync" in doc:
                    batch.syncs.append(doc["sync"])
                continue
            stream = doc.get("stream", DEFAULT_STREAM)
            if type(stream) is not str or (stream not in known and not self._admit(stream)):
                self._reject(batch, line, "bad stream name")
                continue
            sender = doc.get("sender")
            if sender is not None:
                seq = doc.get("seq")
                if type(sender) is not str or type(seq) is not int:
                    self._reject(batch, line, "sender without an integer seq")
                    continue
                if sender not in held and not self._hold(sender):
                    self._reject(batch, line, "sender id in use by another connection")
                    continue
                last = batch_marks.get(sender)
                mark = marks.get(sender, 0) if last is None else last
                if seq <= mark:
                    batch.duplicates += 1
                    continue
                if mark and seq - mark > MAX_SEQ_JUMP:
                    self._reject(batch, line, f"seq jumps {seq - mark} past the sender's last")
                    continue
                batch_marks[sender] = seq
            if line[-1] == CLOSING_BRACE and doc and "received_at" not in doc and "peer" not in doc:
                line = line[:-1] + suffix
            else:
                line = orjson.dumps({**doc, "received_at": self._now, "peer": self._peer})
            bucket = streams.get(stream)
            if bucket is None:
                streams[stream] = bucket = []
            bucket.append(line)
            stored += 1
        batch.stored += stored

    def release(self) -> None:
        """The connection is closed: its sender ids are free for the next one."""
        for sender in self._held:
            if self._owners.get(sender) is self:
                del self._owners[sender]
        self._held.clear()

    def _hold(self, sender: str) -> bool:
        """Takes `sender` for this connection; False when another open one holds it."""
        if self._owners.setdefault(sender, self) is not self:
            return False
        self._held.add(sender)
        return True

    def _admit(self, stream: str) -> bool:
        if len(self._streams) >= MAX_STREAMS or not STREAM_NAME.fullmatch(stream):
            return False
        self._streams.add(stream)
        return True

    def _reject(self, batch: Batch, line: bytes, reason: str) -> None:
        batch.rejected += 1
        doc = {
            "received_at": self._now,
            "peer": self._peer,
            "reason": reason,
            "bytes": len(line),
            "head": line[:REJECT_HEAD_BYTES].decode("utf-8", "backslashreplace"),
        }
        batch.streams.setdefault(REJECTS_STREAM, []).append(orjson.dumps(doc))


def _decode_error(line: bytes) -> str:
    try:
        line.decode()
    except UnicodeDecodeError:
        return "not UTF-8"
    return "not JSON"
