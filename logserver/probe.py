"""The readiness probe: `python -m logserver.probe HOST PORT [TOKEN_FILE]` exits 0 if the log
server answers.

It runs every second under process-compose, so it is small: no CLI, no options, a round trip
through `logserver.client.ping` (as `logserver ping`, for people, does). With a token (the first
line of TOKEN_FILE, when that file exists) the server must accept it; without one, a server that
refuses for want of a token is up too. Like scripts/ready.sh, it waits: it tries every 50 ms for
up to 1.5 s, so that the server is reported ready as soon as it is, not at the next probe.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from logserver.client import ping
from logserver.connection import Refused

WAIT_SECONDS = 1.5  # inside the probe's timeout (process-compose.yaml)


def answers(host: str, port: int, token: str | None = None, timeout: float = 2.0) -> bool:
    try:
        ping(host, port, token, timeout=timeout)
    except Refused:
        return token is None  # up, and wants a token (a wrong one: not ready for our senders)
    except (OSError, ValueError):
        return False
    return True


def read_token(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or not args[1].isdigit():
        print("usage: python -m logserver.probe HOST PORT [TOKEN_FILE]", file=sys.stderr)
        return 2
    token = read_token(args[2]) if len(args) == 3 else None
    # A probe that waits must not outlive the stack: once process-compose, which started it, is
    # gone (the stack stopped while it waited), it stops waiting.
    parent = os.getppid()
    deadline = time.monotonic() + WAIT_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        if answers(args[0], int(args[1]), token, timeout=max(min(left, 0.5), 0.1)):
            return 0
        if os.getppid() != parent:
            print("whoever started the probe is gone: it stops waiting", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"log server at {args[0]}:{args[1]} does not answer", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
