"""The heartbeat file of a worker or beat, `<STATE_DIR>/run/<name>.heartbeat`: touched every
`INTERVAL_SECONDS` by a thread of the main process, whatever the broker does.

Kubernetes' liveness probe of both reads the file's age (deploy/k8s): no Python start and no
broker round trip, so a broker outage leaves every worker running (they reconnect) instead of
restarting them all; a process that is gone or wedged stops touching the file and is restarted.
A prefork worker's pool processes are forked after the thread starts, so only the main process
beats.
"""

from __future__ import annotations

import threading
from pathlib import Path

from core.settings import Settings

INTERVAL_SECONDS = 5.0


def heartbeat_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.heartbeat"


def start(settings: Settings, name: str) -> threading.Thread:
    """Touch `name`'s heartbeat file now and then every `INTERVAL_SECONDS` (a daemon thread)."""
    path = heartbeat_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    thread = threading.Thread(target=_beat, args=(path,), name=f"{name}-heartbeat", daemon=True)
    thread.start()
    return thread


def _beat(path: Path) -> None:
    pause = threading.Event()  # never set: a sleep that is not time.sleep in a loop
    while not pause.wait(INTERVAL_SECONDS):
        try:
            path.touch()
        except OSError:
            pass  # a full or vanished state dir: the probe's file ages, and says so
