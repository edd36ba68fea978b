"""Background work: the Celery app (`worker.celery_app`), its tasks and beat's schedule.

`python -m worker <celery command>` is `celery -A worker.celery_app <celery command>`.
"""

import socket


def node_name() -> str:
    """The name this host's worker runs as (`--hostname`), which pings are addressed to."""
    return f"worker@{socket.gethostname()}"
