"""A small client-side balancer for the Swarm test: where the routing mesh is missing, a load
balancer in front must know every api task's host port. `Load` sends requests in a thread,
round robin over the ports of the healthy api tasks (refreshed by the test's `ports` callable),
with one retry on another replica, and counts what failed."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PAUSE_SECONDS = 0.05  # between requests: a bounded load, not a benchmark
REQUEST_SECONDS = 5.0


def get(port: int, path: str) -> int:
    """The status of one GET on 127.0.0.1:port; 0 when no answer came."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


@dataclass
class Load:
    """GET `path` until stopped, over `ports()` (refreshed every `refresh` seconds)."""

    ports: Callable[[], list[int]]
    path: str = "/ready"
    refresh: float = 1.0
    total: int = 0
    failed: int = 0
    retried: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _known: list[int] = field(default_factory=list)

    def __enter__(self) -> Load:
        self._known = self.ports()
        self._threads = [
            threading.Thread(target=self._send, name="load", daemon=True),
            threading.Thread(target=self._watch, name="load-ports", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_SECONDS * 3)

    def _watch(self) -> None:
        while not self._stop.wait(self.refresh):
            try:
                self._known = self.ports()
            except Exception as error:  # a failed lookup keeps the last list
                self.failures.append(f"port lookup: {error}")

    def _send(self) -> None:
        turn = 0
        while not self._stop.is_set():
            ports = list(self._known)
            if not ports:  # no healthy api task: an outage, one failed request per turn
                self.total += 1
                self.failed += 1
                self.failures.append(f"{time.strftime('%X')} no healthy api task")
            else:
                turn += 1
                first = ports[turn % len(ports)]
                self.total += 1
                if get(first, self.path) != 200:
                    self.retried += 1
                    other = [port for port in ports if port != first] or [first]
                    if (status := get(other[0], self.path)) != 200:
                        self.failed += 1
                        self.failures.append(
                            f"{time.strftime('%X')} :{first}, :{other[0]} {status}"
                        )
            self._stop.wait(PAUSE_SECONDS)

    def summary(self) -> str:
        return f"{self.total} requests, {self.failed} failed ({self.retried} retried)"
