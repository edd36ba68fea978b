"""The readiness probe: `python -m logserver.probe HOST PORT` exits 0 if the log server answers.

It runs every second under process-compose, so it is small: no CLI, no options, one round trip
through `logserver.client.ping` (as `logserver ping`, for people, does). A server that answers a
sync, or refuses it for want of a token, is up.
"""

from __future__ import annotations

import sys

from logserver.client import ping
from logserver.connection import Refused


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        ping(host, port, timeout=timeout)
    except Refused:
        return True  # up, and wants a token
    except (OSError, ValueError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m logserver.probe HOST PORT", file=sys.stderr)
        return 2
    if answers(args[0], int(args[1])):
        return 0
    print(f"log server at {args[0]}:{args[1]} does not answer", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
