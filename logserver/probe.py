"""The readiness probe: `python -m logserver.probe HOST PORT` exits 0 if the log server answers.

It runs every second under process-compose, so it imports nothing but the stdlib and reads no
settings (`logserver ping` does both, for people). A server that answers a sync, or refuses it for
want of a token, is up.
"""

from __future__ import annotations

import socket
import sys

PROBE = b'{"sync": "probe"}\n'


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout) as sock:
            sock.sendall(PROBE)
            reply = sock.makefile("rb").readline()
    except OSError:
        return False
    return reply.startswith((b'{"synced"', b'{"error"'))


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
