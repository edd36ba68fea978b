"""The readiness probe: `python -m logserver.probe HOST PORT [TOKEN_FILE]` exits 0 if the log
server answers.

It runs every second under process-compose, so it is small: no CLI, no options, one round trip
through `logserver.client.ping` (as `logserver ping`, for people, does). With a token (the first
line of TOKEN_FILE, when that file exists) the server must accept it; without one, a server that
refuses for want of a token is up too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from logserver.client import ping
from logserver.connection import Refused


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
    if answers(args[0], int(args[1]), token):
        return 0
    print(f"log server at {args[0]}:{args[1]} does not answer", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
