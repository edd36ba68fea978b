"""A small Debug Adapter Protocol client: speaks to debugpy's adapter over TCP as VS Code does."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from typing import Any

Message = dict[str, Any]


class DapClient:
    """One DAP session: requests get their response; events and reverse requests are queued."""

    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.seq = 0
        self.responses: dict[int, queue.Queue[Message]] = {}
        self.events: queue.Queue[Message] = queue.Queue()
        self.lock = threading.Lock()
        self.reader_thread = threading.Thread(target=self._read_loop, daemon=True)
        self.reader_thread.start()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # ends the reader thread's blocking read
        except OSError:
            pass
        self.reader_thread.join(timeout=5)
        self.reader.close()
        self.sock.close()

    def _send(self, message: Message) -> None:
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _read_loop(self) -> None:
        try:
            while True:
                length = 0
                while (line := self.reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if not line:
                    return
                message = json.loads(self.reader.read(length))
                if message["type"] == "response":
                    self.responses[message["request_seq"]].put(message)
                else:
                    self.events.put(message)
        except (OSError, ValueError):  # the socket was closed under the read
            return

    def request(self, command: str, arguments: Message | None = None, wait: bool = True) -> Any:
        with self.lock:
            self.seq += 1
            seq = self.seq
            self.responses[seq] = queue.Queue()
        self._send(
            {"seq": seq, "type": "request", "command": command, "arguments": arguments or {}}
        )
        return self.response(seq) if wait else seq

    def response(self, seq: int) -> Message:
        message = self.responses[seq].get(timeout=self.timeout)
        if not message["success"]:
            raise RuntimeError(f"{message['command']} failed: {message.get('message')}")
        return message

    def respond(self, request: Message, body: Message | None = None) -> None:
        """Answers a reverse request (such as startDebugging) from the adapter."""
        with self.lock:
            self.seq += 1
            seq = self.seq
        self._send(
            {
                "seq": seq,
                "type": "response",
                "request_seq": request["seq"],
                "command": request["command"],
                "success": True,
                "body": body or {},
            }
        )

    def wait_for(self, kind: str, timeout: float | None = None) -> Message:
        """The next event or reverse request named `kind`; others before it are dropped."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind!r} from the debug adapter")
            try:
                message = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if message.get("event") == kind or message.get("command") == kind:
                return message
