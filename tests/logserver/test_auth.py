"""Beyond loopback a token is required: without one the server refuses to start; with one, a
sender that does not present it is refused."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logserver.cli import serve_argv
from logserver.client import ping
from logserver.probe import answers
from logserver.probe import main as probe_main
from logserver.protocol import auth_line, sync_line
from logserver.reader import records
from tests.support.logserver import InProcessLogServer, server_env
from tests.support.processes import free_port, stderr_of_an_orphaned_probe


def refused_start(directory: Path, *options: str) -> list[str]:
    """The error lines of a `logserver serve` that must exit 1 at start."""
    result = subprocess.run(
        serve_argv(free_port(), directory, *options),
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1, result.stderr
    return result.stderr.strip().splitlines()


@pytest.mark.fast
def test_binding_beyond_loopback_without_a_token_fails_clearly(tmp_path: Path) -> None:
    assert refused_start(tmp_path, "--host", "0.0.0.0") == [
        "error: logserver: binding 0.0.0.0 (beyond loopback) needs a token: set LOGSERVER_TOKEN "
        "or pass --token, or bind 127.0.0.1"
    ]


def _reply(sock: socket.socket) -> dict[str, object]:
    reply = sock.makefile("rb").readline()
    doc = orjson.loads(reply)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.fast
def test_a_sender_without_the_token_is_refused(tmp_path: Path) -> None:
    record = orjson.dumps({"stream": "app", "message": "hello"}) + b"\n"
    with InProcessLogServer(tmp_path / "logs", host="0.0.0.0", token="s3cret") as server:
        address = ("127.0.0.1", server.port)
        for first_line in (b"", auth_line("wrong")):
            with socket.create_connection(address, timeout=10) as sock:
                sock.sendall(first_line + record + sync_line(1))
                assert "token required" in str(_reply(sock)["error"])
                assert sock.recv(1) == b""  # closed
        with pytest.raises(ConnectionError):
            ping("127.0.0.1", server.port, token=None)
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(auth_line("s3cret") + record + sync_line(1))
            assert _reply(sock)["stored"] == 1
        assert server.stop() == 0
    assert [doc["message"] for doc in records(server.base, ["app"])] == ["hello"]


@pytest.mark.fast
def test_the_readiness_probe_counts_a_refusal_as_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with InProcessLogServer(tmp_path / "logs", token="s3cret") as server:
        assert answers("127.0.0.1", server.port)
        assert probe_main(["127.0.0.1", str(server.port)]) == 0
        assert server.stop() == 0
    assert not answers("127.0.0.1", server.port, timeout=1)
    monkeypatch.setattr("logserver.probe.WAIT_SECONDS", 0.1)  # it waits for the server that long
    assert probe_main(["127.0.0.1", str(server.port)]) == 1


@pytest.mark.fast
def test_a_waiting_readiness_probe_stops_once_whoever_started_it_is_gone(tmp_path: Path) -> None:
    """It must not outlive the stack (process-compose stopped while the probe waited)."""
    _, stderr = stderr_of_an_orphaned_probe(
        lambda port: [sys.executable, "-m", "logserver.probe", "127.0.0.1", port],
        tmp_path / "stderr",
        10,
    )
    assert stderr == "whoever started the probe is gone: it stops waiting\n"


@pytest.mark.fast
def test_an_unusable_log_folder_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    assert refused_start(tmp_path / "taken" / "logs") == [
        f"error: logserver: cannot create the log folder {tmp_path}/taken/logs: Not a directory"
    ]
