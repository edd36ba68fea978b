"""What tests/containers/test_devcontainer.py runs inside the devcontainer, through `devcontainer
exec` (`.venv/bin/python -m tests.containers.inside COMMAND ...`, in the workspace): each
command waits with a deadline inside, so that one exec does one step, and prints one JSON line.

    ready SECONDS             every process of process-compose.yaml Ready (one-shots Completed)
    get PATH                  the api's answer to GET PATH
    ping SECONDS              POST /api/v1/tasks/ping, then its state until SUCCESS or FAILURE
    reload FILE OLD NEW PATH TEXT SECONDS
                              replaces OLD by NEW in FILE, then how long until GET PATH
                              answers with TEXT in its body
    stack-processes           the processes of the stack still alive (STATE_DIR in their env)
    relay PORT                stdin/stdout to 127.0.0.1:PORT: the port forwarding VS Code does
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from core.settings import ROOT, get_settings
from scripts import stack
from scripts.supervise import processes_with_env


def _print(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def _request(path: str, method: str = "GET") -> tuple[int, str]:
    url = f"http://127.0.0.1:{get_settings().api_port}{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:  # not listening (yet, or while reloading)
        return 0, ""


def _poll(seconds: float, attempt: Any) -> Any:
    """attempt() until it returns something truthy or `seconds` pass; its last answer."""
    deadline = time.monotonic() + seconds
    while not (answer := attempt()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return answer


def ready(seconds: str) -> None:
    declared = yaml.safe_load((ROOT / "process-compose.yaml").read_text())["processes"]
    probed = {name for name, spec in declared.items() if "readiness_probe" in spec}
    states: dict[str, str] = {}

    def all_ready() -> bool:
        states.clear()
        for entry in stack.processes(get_settings()):
            states[entry["name"]] = (
                entry["is_ready"] if entry["name"] in probed else entry["status"]
            )
        return set(states) == set(declared) and all(
            state == ("Ready" if name in probed else "Completed") for name, state in states.items()
        )

    _print(ready=_poll(float(seconds), all_ready), processes=states)


def get(path: str) -> None:
    status, body = _request(path)
    _print(status=status, body=body)


def ping(seconds: str) -> None:
    status, body = _request("/api/v1/tasks/ping", method="POST")
    task = json.loads(body)["id"] if status == 202 else None
    answers: list[dict[str, Any]] = []

    def finished() -> bool:
        answers.append(json.loads(_request(f"/api/v1/tasks/{task}")[1]))
        return answers[-1]["state"] in {"SUCCESS", "FAILURE"}

    if task is not None:
        _poll(float(seconds), finished)
    _print(queued=status, task=answers[-1] if answers else body)


def reload(file: str, old: str, new: str, path: str, text: str, seconds: str) -> None:
    source = ROOT / file
    source.write_text(source.read_text().replace(old, new))
    started = time.monotonic()
    found = _poll(float(seconds), lambda: text in _request(path)[1])
    _print(served=bool(found), seconds=round(time.monotonic() - started, 2))


def stack_processes() -> None:
    state_dir = str(get_settings().state_dir)
    alive = {
        pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        for pid in processes_with_env("STATE_DIR", state_dir)
    }
    _print(alive=alive)


def relay(port: str) -> None:
    connection = socket.create_connection(("127.0.0.1", int(port)))

    def upstream() -> None:
        while chunk := os.read(sys.stdin.fileno(), 65536):
            connection.sendall(chunk)
        connection.shutdown(socket.SHUT_WR)

    threading.Thread(target=upstream, daemon=True).start()
    while chunk := connection.recv(65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


COMMANDS: dict[str, Callable[..., None]] = {
    "ready": ready,
    "get": get,
    "ping": ping,
    "reload": reload,
    "stack-processes": stack_processes,
    "relay": relay,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
