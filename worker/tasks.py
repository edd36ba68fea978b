"""The background tasks. Each is small, takes ids (not objects) and declares its retries here;
whoever queues one does so after committing the data it reads. Each is registered under the name
its contract gives (core.tasks), whatever module it lives in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import redis.exceptions
import sqlalchemy.exc
from celery import Task, shared_task

from core.celery_client import settings_of
from core.tasks import celery_name
from logserver.retention import sweep  # part: logserver
from logserver.storage import StorageConfig  # part: logserver
from worker import users

log = logging.getLogger(__name__)

# part: logserver
# A file changed within this long may still be written by the log server: the sweep leaves it.
LOG_QUIET = timedelta(hours=1)
# end part: logserver

# Failures that may pass by themselves (a store restarting, a network blip): worth a retry.
TRANSIENT: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    sqlalchemy.exc.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


# Celery has no type hints: mypy cannot see through its decorator.


@shared_task(name=celery_name("ping"))  # type: ignore[untyped-decorator]
def ping() -> str:
    return "pong"


@shared_task(  # type: ignore[untyped-decorator]
    name=celery_name("user_report"),
    bind=True,
    autoretry_for=TRANSIENT,
    max_retries=3,
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
)
def build_user_report(self: Task, user_id: int) -> dict[str, Any]:
    """The report of one user (kept as the task's result)."""
    report = users.build_report(settings_of(self.app), user_id)
    log.info("built the report of user %d", user_id)
    return report


@shared_task(  # type: ignore[untyped-decorator]
    name=celery_name("user_stats"),
    bind=True,
    autoretry_for=TRANSIENT,
    max_retries=3,
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
)
def record_user_stats(self: Task) -> dict[str, Any]:
    """Periodic (beat): counts the users and keeps the figures in Redis."""
    stats = users.record_stats(settings_of(self.app))
    log.info("recorded user stats: %d users", stats["users"])
    return stats


# part: logserver
@shared_task(  # type: ignore[untyped-decorator]
    name=celery_name("prune_log_files"),
    bind=True,
    autoretry_for=(OSError,),
    max_retries=2,
    retry_backoff=30,
    soft_time_limit=600,
    time_limit=660,
)
def prune_log_files(self: Task) -> dict[str, int]:
    """Periodic (beat): gzips old plain log files, deletes those past LOG_RETENTION_DAYS."""
    settings = settings_of(self.app)
    counts = prune_log_files_now(settings.logs_dir, settings.log_retention_days, datetime.now(UTC))
    log.info(
        "log files under %s: %d compressed, %d deleted",
        settings.logs_dir,
        counts["compressed"],
        counts["deleted"],
    )
    return counts


def prune_log_files_now(base: Path, retention_days: int, now: datetime) -> dict[str, int]:
    """The log server's own sweep (logserver.retention), from outside it: what it could not do
    (it was down at midnight, or has stopped for good), sparing files changed within LOG_QUIET."""
    config = StorageConfig(base, retention_days=retention_days)
    return sweep(config, now.date(), quiet_since=(now - LOG_QUIET).timestamp())


# end part: logserver
