"""Beat's schedule: what runs when, and where beat keeps track of it (in the state dir)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from celery.schedules import crontab

from core.settings import Settings
from core.tasks import celery_name

SCHEDULE_FILE = "beat-schedule"

DEFAULT_SCHEDULE: dict[str, dict[str, Any]] = {
    "record-user-stats": {
        "task": celery_name("user_stats"),
        "schedule": timedelta(minutes=5),
    },
    # part: logserver
    "prune-log-files": {
        "task": celery_name("prune_log_files"),
        "schedule": crontab(minute=17),  # hourly, off the top of the hour
    },
    # end part: logserver
}


def schedule_file(settings: Settings) -> Path:
    """Beat's schedule database, in the state dir (never in the checkout or /tmp)."""
    return settings.state_dir / "celery" / SCHEDULE_FILE


class StateDirScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's persistent scheduler, which first creates the folder of its schedule file."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
