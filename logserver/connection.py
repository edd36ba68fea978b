"""A logging handler's TCP connection to the log server: batches out, `synced` replies in."""

from __future__ import annotations

# Imported here, not by the first connect: socket.getaddrinfo imports it on its first str host,
# on the shipper's thread. A process that forks then (granian spawning its workers right after
# its first record) left the child with that module's import lock held by a thread it does not
# have, and the child hung on its first `import encodings.idna` (requests does; seen in a
# worker's stack dump, one start in about twelve under load).
import encodings.idna  # noqa: F401
import select
import socket
from typing import Any

import orjson

from logserver.protocol import auth_line


class Refused(ConnectionError):
    """The server answered with an error (a wrong or missing token)."""


class Connection:
    """A TCP connection to the log server: batches out, `synced` replies in."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)

    @classmethod
    def open(
        cls, host: str, port: int, token: str | None, connect_timeout: float, reply_timeout: float
    ) -> Connection:
        sock = socket.create_connection((host, port), connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(reply_timeout)
            if token:
                sock.sendall(auth_line(token))
        except OSError:
            sock.close()
            raise
        return cls(sock)

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def replies(self, wait: bool) -> list[dict[str, Any]]:
        """Replies received so far; with `wait`, blocks (up to the timeout) until there is one."""
        while True:
            if wait or self._poll.poll(0):
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("the log server closed the connection")
                self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            if lines or not wait:
                return [orjson.loads(line) for line in lines]

    def close(self) -> None:
        self._sock.close()
