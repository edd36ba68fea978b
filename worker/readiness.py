"""The worker's readiness file, `<STATE_DIR>/run/worker.ready`: the pid of a worker that consumes.

Celery sends `worker_ready` once the consumer is connected to the broker and takes tasks; the file
is written then (`worker.celery_app` connects the signals), and removed at `worker_shutdown` by the
worker whose pid it holds. The dev stack's probe is `kill -0 "$(cat <file>)"`: no Python start,
so it can run every second, where a ping through the broker (`celery inspect ping`) costs half a
CPU-second a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.settings import Settings

FILE_NAME = "worker.ready"


def ready_file(settings: Settings) -> Path:
    return settings.run_dir / FILE_NAME


def mark_ready(settings: Settings) -> None:
    path = ready_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{FILE_NAME}.{os.getpid()}")
    partial.write_text(f"{os.getpid()}\n")
    partial.replace(path)  # a probe never reads a half-written pid


def clear(settings: Settings) -> None:
    path = ready_file(settings)
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except FileNotFoundError:
        pass
