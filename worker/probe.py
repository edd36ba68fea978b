"""`python -m worker.probe`: exits 0 when this host's worker answers a ping, 1 otherwise.

The dev stack's readiness probe. `celery inspect ping --destination worker@<host>` asks the same,
but loads Celery's whole command line (click-repl, prompt-toolkit) on each probe: three times the
CPU, every few seconds, for as long as the stack runs.
"""

from __future__ import annotations

import sys

from kombu.exceptions import OperationalError

from worker import node_name
from worker.celery_app import default_app

TIMEOUT_SECONDS = 2.0


def main() -> int:
    celery = default_app()
    try:
        replies = celery.control.ping(destination=[node_name()], timeout=TIMEOUT_SECONDS)
    except (OSError, OperationalError) as error:
        print(f"cannot reach the broker: {error}", file=sys.stderr)
        return 1
    finally:
        celery.close()
    if not replies:
        print(f"{node_name()} did not answer a ping", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
