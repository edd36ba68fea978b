"""DAP sessions attached as VS Code attaches them, and where they stop (beside the debug tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.supervise import wait_for
from tests.debug.dap import DapClient

INITIALIZE = {
    "clientID": "pytest",
    "adapterID": "debugpy",
    "pathFormat": "path",
    "linesStartAt1": True,
    "columnsStartAt1": True,
    "supportsStartDebuggingRequest": True,
    "supportsVariableType": True,
}


def line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` that contains `text`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not found in {path}")


def attach(
    port: int, configuration: dict[str, Any], breakpoints: dict[Path, list[int]]
) -> DapClient:
    """A session as VS Code opens it: initialize, attach, setBreakpoints, configurationDone."""
    client = DapClient("127.0.0.1", port)
    client.request("initialize", INITIALIZE)
    attach_seq = client.request("attach", configuration, wait=False)
    client.wait_for("initialized")
    for path, lines in breakpoints.items():
        body = client.request(
            "setBreakpoints",
            {"source": {"path": str(path)}, "breakpoints": [{"line": line} for line in lines]},
        )["body"]
        assert all(bp["verified"] for bp in body["breakpoints"]), body
    client.request("configurationDone")
    client.response(attach_seq)
    return client


def attach_config(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "attach",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": port},
        "justMyCode": True,
        "subProcess": True,
        **extra,
    }


def follow_subprocesses(
    parent: DapClient, port: int, breakpoints: dict[Path, list[int]], settle: float = 3.0
) -> list[DapClient]:
    """Attaches to every child the adapter announces, as VS Code does by itself.

    A reloading server spawns more than one child (uvicorn's server, multiprocessing's helper),
    so this waits for the first and then for more until none comes for `settle` seconds.
    """
    children = []
    request: dict[str, Any] | None = parent.wait_for("startDebugging")
    while request is not None:
        parent.respond(request)
        children.append(attach(port, request["arguments"]["configuration"], breakpoints))
        try:
            request = parent.wait_for("startDebugging", timeout=settle)
        except TimeoutError:
            request = None
    return children


def stopped_frame(
    sessions: list[DapClient], timeout: float = 30
) -> tuple[DapClient, dict[str, Any], dict[str, Any]]:
    """Waits for `stopped` in any session: that session, its top frame, and its locals by name."""
    found: list[tuple[DapClient, dict[str, Any]]] = []

    def stopped() -> bool:
        for client in sessions:
            try:
                found.append((client, client.wait_for("stopped", timeout=0.2)))
                return True
            except TimeoutError:
                continue
        return False

    wait_for(stopped, timeout, "a session to stop at a breakpoint")
    client, event = found[0]
    return (client, *_top_frame(client, event["body"]["threadId"]))


def _top_frame(client: DapClient, thread_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    frames = client.request("stackTrace", {"threadId": thread_id, "levels": 1})["body"]
    frame = frames["stackFrames"][0]
    scopes = client.request("scopes", {"frameId": frame["id"]})["body"]["scopes"]
    local = next(scope for scope in scopes if scope["name"].lower().startswith("locals"))
    variables = client.request("variables", {"variablesReference": local["variablesReference"]})[
        "body"
    ]["variables"]
    frame["threadId"] = thread_id
    return frame, {variable["name"]: variable for variable in variables}
