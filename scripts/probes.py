"""Whether a service answers: an HTTP URL, Postgres, Redis (and the log server): one round trip
each, False rather than an error while it does not; the bench and the tests poll them.

The database drivers are imported by the probes that use them: the conftest of every test process
imports this module, and asyncpg and redis cost 0.1 s to import."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from typing import Any

from core.settings import Settings
from logserver.client import ping  # part: logserver

HOST = "127.0.0.1"


def get(url: str, timeout: float = 5) -> tuple[int, Any]:
    """Status and JSON body of GET url (status 0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (OSError, ValueError):
        return 0, None


def http_status(url: str, auth: tuple[str, str] | None = None, timeout: float = 2) -> int:
    """The status GET url answers, with basic auth when given (0 when nothing answers)."""
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def http_ok(url: str) -> bool:
    """Whether GET url answers 200."""
    return http_status(url) == 200


def postgres_ready(settings: Settings) -> bool:
    """Whether the settings' database accepts a connection."""
    import asyncpg

    async def connect() -> None:
        connection = await asyncpg.connect(settings.postgres_dsn, timeout=2)
        await connection.close()

    try:
        asyncio.run(connect())
    except (OSError, ValueError, asyncpg.PostgresError):
        return False
    return True


def redis_ping(settings: Settings) -> bool:
    """Whether the settings' Redis answers PING."""
    import redis

    try:
        with redis.Redis.from_url(settings.redis_url, socket_timeout=2) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


# part: logserver
def logserver_answers(port: int, token: str | None = None, host: str = HOST) -> bool:
    """Whether the log server at host:port answers a sync (`logserver.client.ping`)."""
    try:
        ping(host, port, token, timeout=1)
    except (OSError, ValueError):
        return False
    return True


# end part: logserver
