"""Per-request context that log records carry: set by the access middleware and by Celery tasks."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
