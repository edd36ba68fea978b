"""The worker's Celery app: the client of core.celery_client (broker, results, publish hook) plus
the tasks, beat's schedule, and the signals of worker and beat.

`celery -A worker.celery_app` finds `app` here; it is built on first access, so importing this
module reads no settings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery, current_app, signals
from celery.concurrency import get_implementation, prefork

from core.celery_client import create_client, settings_of
from core.logging import announce, configure_logging, flush_logging
from core.settings import Settings, get_settings
from core.tracing import flush_tracing, setup_tracing
from worker import heartbeat, readiness, request_ids
from worker.schedule import DEFAULT_SCHEDULE, schedule_file

TASK_MODULES = ["worker.tasks"]
SCHEDULER = "worker.schedule:StateDirScheduler"
TIME_LIMIT_SECONDS = 90
VISIBILITY_TIMEOUT_SECONDS = 300


def create_celery(
    settings: Settings | None = None, schedule: dict[str, dict[str, Any]] | None = None
) -> Celery:
    """A Celery app on the project's Redis, with the tasks of `TASK_MODULES` and beat's
    `schedule` (`DEFAULT_SCHEDULE` unless given)."""
    settings = settings or get_settings()
    _connect_signals()
    celery = create_client(settings)
    celery.conf.update(
        include=TASK_MODULES,
        # Report STARTED (and, as the client asks, keep name, args and retries with each result).
        task_track_started=True,
        # A task is acknowledged once it is done, so a worker killed mid-task does not lose it;
        # tasks are small and idempotent, and a worker takes one at a time per process.
        task_acks_late=True,
        # A pool process that dies mid-task (the OOM killer) has its task queued again at once,
        # instead of failed with WorkerLostError: the same as for a whole worker that dies.
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=60,
        task_time_limit=TIME_LIMIT_SECONDS,
        # What a worker had taken but not acknowledged when it died goes back to the queue after
        # this long. Above the hard time limit and the longest retry countdown (backoff capped
        # at 30 s), a task still running or waiting in a live worker is never sent twice; Redis's
        # default (1 hour) would leave a dead worker's tasks waiting that long. A task queued
        # with an ETA further out than this would be sent twice: schedule those with beat. In
        # dev the reloader (worker/reloader.py) takes them back at once.
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        worker_concurrency=settings.worker_concurrency,
        worker_send_task_events=True,
        # Logging is the project's (`_worker_starting`): Celery must not replace root's handlers.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        beat_schedule=DEFAULT_SCHEDULE if schedule is None else schedule,
        beat_scheduler=SCHEDULER,
        beat_schedule_filename=str(schedule_file(settings)),
    )
    return celery


LONG_RUNNING = (
    "worker",
    "beat",
    "flower",  # part: flower
)


def prepare(argv: list[str]) -> None:
    """Before Celery runs `celery <argv>`: for the long-running commands (LONG_RUNNING), logging
    set up and the start-up line said, so that both come before Celery's banner."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in LONG_RUNNING:
        return
    settings = get_settings()
    configure_logging(command, settings)
    broker = settings.redis_db_url(settings.celery_broker_db, masked=True)
    announce(command, _whereabouts(command, settings, broker))


def _whereabouts(command: str, settings: Settings, broker: str) -> str:
    if command == "worker":
        results = settings.redis_db_url(settings.celery_result_db, masked=True)
        return f"tasks from {broker}, results to {results}"
    # part: flower
    if command == "flower":
        return f"http://{settings.bind_host}:{settings.port('flower_port')} (read-only)"
    # end part: flower
    return f"queues the schedule on {broker} (schedule in {schedule_file(settings)})"


@lru_cache(maxsize=1)
def default_app() -> Celery:
    """The app of this process, from its settings: what `python -m worker` runs."""
    return create_celery()


def __getattr__(name: str) -> Celery:
    # `worker.celery_app.app`, as `celery -A worker.celery_app` asks for it, built on first use.
    if name == "app":
        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _connect_signals() -> None:
    # Signals are global to the process; dispatch_uid makes connecting again a no-op.
    request_ids.connect()
    signals.setup_logging.connect(_leave_logging_alone, weak=False, dispatch_uid=__name__ + ".log")
    signals.celeryd_init.connect(_worker_starting, weak=False, dispatch_uid=__name__ + ".worker")
    signals.beat_init.connect(_beat_starting, weak=False, dispatch_uid=__name__ + ".beat")
    signals.worker_ready.connect(_worker_ready, weak=False, dispatch_uid=__name__ + ".ready")
    signals.worker_shutdown.connect(_worker_stopping, weak=False, dispatch_uid=__name__ + ".stop")
    # Tracing, set up in each prefork child (and in the one process of another pool); spans
    # and log records flushed when a child exits: it leaves by os._exit, past the exit hooks.
    signals.worker_init.connect(_trace_other_pools, weak=False, dispatch_uid=__name__ + ".trace")
    signals.worker_process_init.connect(_trace_child, weak=False, dispatch_uid=__name__ + ".child")
    signals.worker_process_shutdown.connect(
        _flush_child, weak=False, dispatch_uid=__name__ + ".flush"
    )


def _leave_logging_alone(**_: Any) -> None:
    """Connected, it keeps Celery from configuring logging itself."""


def _worker_starting(instance: Any, **_: Any) -> None:
    settings = settings_of(instance.app)
    configure_logging("worker", settings)
    heartbeat.start(settings, "worker")


def _beat_starting(sender: Any, **_: Any) -> None:
    # Sent once beat has opened its schedule: only "beat: Starting..." is logged before.
    settings = settings_of(sender.app)
    # Each task beat queues is the root of its own trace (its publish span).
    setup_tracing("beat", settings)
    configure_logging("beat", settings)
    heartbeat.start(settings, "beat")


def _trace_other_pools(sender: Any, **_: Any) -> None:
    if not issubclass(get_implementation(sender.pool_cls), prefork.TaskPool):
        setup_tracing("worker", settings_of(sender.app))


def _trace_child(**_: Any) -> None:
    setup_tracing("worker", settings_of(current_app))


def _flush_child(**_: Any) -> None:
    flush_tracing()
    flush_logging()


def _worker_ready(sender: Any, **_: Any) -> None:
    readiness.mark_ready(settings_of(sender.app))


def _worker_stopping(sender: Any, **_: Any) -> None:
    readiness.clear(settings_of(sender.app))
