"""The worker or beat as a child of the dev reloader (worker/reloader.py), imported fresh in each.

The worker keeps the tasks it has reserved but not acknowledged in a redelivery list of its own
(`unacked:<node name>`, kombu's Redis transport options) instead of the broker's shared one, and
puts whatever is in that list back in its queue before it consumes: the reloader starts a worker
only once the one before is dead, group and all, so those tasks are no one's any more. Elsewhere
(tests, production) the shared list and the visibility timeout (worker/celery_app.py) apply.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from celery import Celery, signals
from celery.__main__ import main

from core import preload
from worker import celery_app, node_name
from worker.reloader import die_with_parent


def run(argv: list[str], libraries: Path) -> int:
    """`celery <argv>` in this process; reports its library modules to `libraries` once ready."""
    celery_app.prepare(argv)
    app = celery_app.default_app()

    def report(**_: Any) -> None:
        preload.write_names(libraries, preload.library_names())

    signals.worker_ready.connect(report, weak=False, dispatch_uid=__name__ + ".report")
    signals.beat_init.connect(report, weak=False, dispatch_uid=__name__ + ".report-beat")
    if argv[0] == "worker":
        use_own_redelivery_list(app, node_name())
        signals.worker_process_init.connect(
            _pool_process_started, weak=False, dispatch_uid=__name__ + ".pool"
        )
        take_back_unacked(app)
    sys.argv = ["celery", "--app", "worker.celery_app", *argv]
    main()
    return 0


def redelivery_keys(node: str) -> dict[str, str]:
    """kombu's Redis transport options naming the redelivery list of worker `node`."""
    return {
        "unacked_key": f"unacked:{node}",
        "unacked_index_key": f"unacked_index:{node}",
        "unacked_mutex_key": f"unacked_mutex:{node}",
    }


def use_own_redelivery_list(app: Celery, node: str) -> None:
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        **redelivery_keys(node),
    }


def take_back_unacked(app: Celery) -> int:
    """Puts every task of this worker's redelivery list back in its queue; how many there were."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        tags = channel.client.hkeys(channel.unacked_key)
        for tag in tags:
            channel.qos.restore_by_tag(tag)
    if tags:
        print(
            f"--> worker: {len(tags)} task(s) the last worker had not finished are queued again",
            file=sys.stderr,
            flush=True,
        )
    return len(tags)


def _pool_process_started(**_: Any) -> None:
    # A pool process dies with the worker: none runs a task on that the next worker takes back.
    die_with_parent(os.getppid())
