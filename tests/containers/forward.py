"""Port forwarding into a container, the way VS Code forwards a devcontainer's `forwardPorts`:
no port is published; each connection to a host loopback port is carried over a `podman exec`
of a relay that connects to the port on the container's own loopback, where the dev stack binds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import IO


class Forward:
    """127.0.0.1:`port` on the host to 127.0.0.1:`remote_port` in the container, while open."""

    def __init__(self, relay: Sequence[str], env: dict[str, str]) -> None:
        self.relay = list(relay)  # the command that relays stdin/stdout to the remote port
        self.env = env
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.relays: list[subprocess.Popen[bytes]] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Forward:
        self.accepting.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.listener.close()
        for relay in self.relays:
            relay.kill()
            relay.wait(timeout=10)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            relay = subprocess.Popen(
                self.relay, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env
            )
            self.relays.append(relay)
            assert relay.stdin is not None and relay.stdout is not None
            threading.Thread(target=_to_relay, args=(connection, relay.stdin), daemon=True).start()
            threading.Thread(
                target=_from_relay, args=(relay.stdout, connection), daemon=True
            ).start()


def _to_relay(connection: socket.socket, relay_in: IO[bytes]) -> None:
    try:
        while chunk := connection.recv(65536):
            relay_in.write(chunk)
            relay_in.flush()
    except OSError:
        pass
    finally:
        relay_in.close()


def _from_relay(relay_out: IO[bytes], connection: socket.socket) -> None:
    try:
        while chunk := os.read(relay_out.fileno(), 65536):  # what is there, not a full block
            connection.sendall(chunk)
    except OSError:
        pass
    finally:
        connection.close()
        relay_out.close()  # else the thread's end drops it unclosed: a ResourceWarning, an error
