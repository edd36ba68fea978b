"""The worker's heartbeat file: touched by its main process whatever the broker does, which is
what the liveness probe of deploy/k8s reads (tests/deploy runs that probe on a file)."""

from __future__ import annotations

import signal
from pathlib import Path

from core.settings import Settings
from scripts.ports import free_port
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess
from tests.support.worker import WORKER_READY_SECONDS
from worker.heartbeat import INTERVAL_SECONDS, heartbeat_file


def test_the_heartbeat_goes_on_while_the_broker_is_down(
    worker_env: dict[str, str], worker_settings: Settings, tmp_path: Path
) -> None:
    # A Redis port nothing listens on: the worker retries its broker connection for ever.
    env = {**worker_env, "STATE_DIR": str(tmp_path), "REDIS_PORT": str(free_port())}
    path = heartbeat_file(worker_settings.model_copy(update={"state_dir": tmp_path}), "worker")
    argv = [DEV, "run", "worker"]
    with ServiceProcess("worker-heartbeat", argv, env, tmp_path, signal.SIGKILL) as process:
        process.wait_until(path.exists, WORKER_READY_SECONDS, "to write its heartbeat file")
        first = path.stat().st_mtime_ns
        process.wait_until(
            lambda: path.stat().st_mtime_ns > first,
            WORKER_READY_SECONDS + 3 * INTERVAL_SECONDS,
            "to touch its heartbeat file again",
        )
        assert "consumer: Cannot connect to redis" in process.output()  # the broker was down
