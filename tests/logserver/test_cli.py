"""`tail` and `stats` on a fixture set of stored records, plain and gzipped."""

from __future__ import annotations

import gzip
import os
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from logserver.cli import main
from logserver.protocol import timestamp
from logserver.retention import compress_file
from logserver.tail import Follower
from tests.support.console import RECORD, plain

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def _access(
    now: datetime, n: int, method: str, route: str, status: int, ms: float, age: timedelta
) -> dict[str, object]:
    return {
        "ts": timestamp(now - age),
        "received_at": timestamp(now - age),
        "level": "ERROR" if status >= 500 else "INFO",
        "logger": "app.access",
        "component": "api",
        "stream": "access",
        "method": method,
        "path": route.replace("{user_id}", str(n)),
        "route": route,
        "status": status,
        "duration_ms": ms,
        "request_id": f"req-{route[-5:]}-{n}",
        "message": f"{method} {route} {status} {ms}ms",
    }


def _write(path: Path, docs: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(orjson.dumps(doc) + b"\n" for doc in docs)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Greeting: 100 requests of 1..100 ms, ten of them 404; a user route: four requests; one
    request two days old. App records, one of them inside a request."""
    base = tmp_path_factory.mktemp("logs")
    now = datetime.now(UTC)  # when the module's tests run, which `--since 1h` is measured from
    today, old = now.date().isoformat(), (now - timedelta(days=2)).date().isoformat()
    greeting = [
        _access(
            now,
            n,
            "GET",
            "/api/v1/user/greeting",
            404 if n % 10 == 0 else 200,
            float(n),
            timedelta(minutes=30, seconds=-n),
        )
        for n in range(1, 101)
    ]
    users = [
        _access(
            now, n, "PATCH", "/api/v1/users/{user_id}", status, ms, timedelta(minutes=5, seconds=-n)
        )
        for n, (status, ms) in enumerate([(200, 10.0), (200, 20.0), (500, 30.0), (422, 40.0)])
    ]
    _write(
        base / "access" / f"{old}.jsonl.gz",
        [_access(now, 0, "GET", "/health", 200, 1.0, timedelta(days=2))],
    )
    _write(base / "access" / f"{today}.jsonl.gz", greeting[:50])
    _write(base / "access" / f"{today}.1.jsonl", greeting[50:] + users)
    app: list[dict[str, object]] = [
        {
            "ts": timestamp(now - timedelta(minutes=6)),
            "level": "DEBUG",
            "logger": "app.db",
            "component": "api",
            "stream": "app",
            "message": "connecting",
        },
        {
            "ts": timestamp(now - timedelta(minutes=4, seconds=-2)),
            "level": "ERROR",
            "logger": "app.users",
            "component": "api",
            "stream": "app",
            "message": "update failed",
            "request_id": users[2]["request_id"],
            "exc": "Traceback ...\nValueError: no",
        },
    ]
    for doc in app:
        doc["received_at"] = doc["ts"]
    _write(base / "app" / f"{today}.jsonl", app)
    return base


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code in (0, None)
    return capsys.readouterr().out.splitlines()


def test_stats_per_route(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run(capsys, "stats", "--dir", str(logs), "--since", "1h")
    rows = [line.split() for line in lines]
    assert rows[0] == [
        "route",
        "count",
        "p50",
        "ms",
        "p95",
        "ms",
        "p99",
        "ms",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
    ]
    assert rows[1:] == [
        ["GET", "/api/v1/user/greeting", "100", "50.0", "95.0", "99.0", "90", "0", "10", "0"],
        ["PATCH", "/api/v1/users/{user_id}", "4", "20.0", "40.0", "40.0", "2", "0", "1", "1"],
    ]
    everything = _run(capsys, "stats", "--dir", str(logs))
    assert any(line.split()[:3] == ["GET", "/health", "1"] for line in everything)


def test_tail_by_request_id_joins_the_access_and_app_records(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _run(capsys, "tail", "--dir", str(logs), "--request-id", "req-r_id}-2", "-n", "0")
    assert len(lines) == 4
    assert RECORD.match(lines[0]) and RECORD.match(lines[1])
    assert lines[0].endswith(" ERROR   api       PATCH /api/v1/users/2 500 30.00ms [req-r_id}-2]")
    assert lines[1].endswith(" ERROR   api       app.users: update failed [req-r_id}-2]")
    assert lines[2:] == ["    Traceback ...", "    ValueError: no"]  # indented under it


def test_tail_filters_by_stream_level_and_count(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(_run(capsys, "tail", "--dir", str(logs), "--stream", "app")) == 4
    warnings = _run(capsys, "tail", "--dir", str(logs), "--level", "warning")
    assert [line.split()[1] for line in warnings if RECORD.match(line)] == [
        "ERROR",
        "ERROR",
    ]  # the 500 access record and the app error
    last = _run(capsys, "tail", "--dir", str(logs), "--stream", "access", "-n", "2")
    assert [line.split()[-1] for line in last] == ["[req-r_id}-2]", "[req-r_id}-3]"]


def test_tail_json_prints_the_records_as_stored(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _run(capsys, "tail", "--dir", str(logs), "--json", "--stream", "app", "-n", "0")
    (stored_file,) = (logs / "app").glob("*.jsonl")
    stored = [orjson.loads(line) for line in stored_file.read_bytes().splitlines()]
    assert [orjson.loads(line) for line in lines] == stored


def test_tail_colours_on_request_and_not_in_a_pipe(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uncoloured = _run(capsys, "tail", "--dir", str(logs), "--stream", "app")
    assert not any("\x1b[" in line for line in uncoloured)
    coloured = _run(capsys, "tail", "--dir", str(logs), "--stream", "app", "--color", "always")
    assert "\x1b[36mapi      \x1b[0m" in coloured[0]  # the component, in its colour
    assert [plain(line) for line in coloured] == uncoloured


def test_the_module_runs_as_a_program(logs: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "logserver", "tail", "--dir", str(logs), "--since", "2h", "-n", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(result.stdout.splitlines()) == 100 + 4 + 2 + 2  # two traceback lines


def test_follow_prints_new_records_even_across_a_rotation(tmp_path: Path) -> None:
    current = tmp_path / "app" / "2024-05-01.jsonl"
    _write(current, [{"n": 0}])
    follower = Follower(tmp_path, ())
    assert list(follower.poll()) == []
    with current.open("ab") as file:
        file.write(b'{"n": 1}\n{"n": 2}\n{"n": 3, "unfini')
    assert [doc["n"] for doc in follower.poll()] == [1, 2]
    with current.open("ab") as file:
        file.write(b'shed": true}\n{"n": 4}\n')
    compress_file(current)  # rotated and gzipped between two polls
    _write(tmp_path / "app" / "2024-05-01.1.jsonl", [{"n": 5}])
    assert [doc["n"] for doc in follower.poll()] == [3, 4, 5]
    assert list(follower.poll()) == []


def test_tail_follow_without_a_filter_follows_every_stream_even_new_ones(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    today = now.date().isoformat()
    access = tmp_path / "access" / f"{today}.jsonl"
    _write(access, [_access(now, 0, "GET", "/health", 200, 1.0, timedelta(0))])
    argv = [sys.executable, "-m", "logserver", "tail", "-f", "--dir", str(tmp_path)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, bufsize=0) as follower:
        assert follower.stdout is not None
        output = Lines(follower.stdout.fileno())
        try:
            # The stored record printed: it follows the files from here on.
            assert output.next().endswith("GET /health 200 1.00ms [req-ealth-0]")
            api = _access(now, 1, "GET", "/api/v1/user/greeting", 200, 1.5, timedelta(0))
            with access.open("ab") as file:
                file.write(orjson.dumps(api) + b"\n")
            worker: dict[str, object] = {"ts": timestamp(now), "level": "INFO"}
            worker.update(component="worker", logger="jobs", message="done", request_id="r-1")
            _write(tmp_path / "worker" / f"{today}.jsonl", [worker])  # a stream new since
            lines = [output.next(), output.next()]
        finally:
            follower.terminate()
    assert sorted(line.split(" ", 1)[1] for line in lines) == [
        "INFO    api       GET /api/v1/user/greeting 200 1.50ms [req-eting-1]",
        "INFO    worker    jobs: done [r-1]",
    ]


class Lines:
    """The lines a pipe brings, each waited for with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = b""

    def next(self, timeout: float = 30) -> str:
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, "tail -f printed nothing new"
            chunk = os.read(self.fd, 65536)
            assert chunk, "tail -f exited"
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()


def test_tail_shows_escape_sequences_inert_readably_and_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    hostile: dict[str, object] = {
        "ts": timestamp(now),
        "received_at": timestamp(now),
        "level": "INFO\x1b[5m",
        "component": "api\u202e",
        "stream": "app",
        "message": "\x1b[2Jcleared\u202edesrever\x9b31m\n12:00:00.000 CRITICAL api forged",
    }
    _write(tmp_path / "app" / f"{now.date().isoformat()}.jsonl", [hostile])
    (line,) = _run(capsys, "tail", "--dir", str(tmp_path))
    assert "\\x1b[2Jcleared\\u202edesrever\\u009b31m\\n12:00:00.000 CRITICAL api forged" in line
    assert "INFO\\x1b[5m api\\u202e" in line
    (raw,) = _run(capsys, "tail", "--dir", str(tmp_path), "--json")
    assert not any(code in raw for code in "\x1b\u202e\x9b")
    assert orjson.loads(raw) == hostile  # still the record as stored, as valid JSON
