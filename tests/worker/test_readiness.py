"""The worker's readiness file and the stack's probe that reads it (process-compose.yaml)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import yaml

from core.settings import ROOT, Settings
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess
from tests.support.services import own_redis_databases, redis_env
from tests.support.worker import WORKER_READY_SECONDS
from worker.readiness import ready_file


def stack_probe(env: dict[str, str]) -> int:
    """The worker's readiness probe from process-compose.yaml, run as process-compose runs it."""
    config = yaml.safe_load((ROOT / "process-compose.yaml").read_text())
    command = config["processes"]["worker"]["readiness_probe"]["exec"]["command"]
    command = command.replace("${STATE_DIR}", env["STATE_DIR"])
    return subprocess.run(["bash", "-c", command], env=env, check=False, timeout=10).returncode


def test_the_worker_marks_itself_ready_and_unmarks_itself_when_it_stops(
    worker_env: dict[str, str], worker_settings: Settings, tmp_path: Path
) -> None:
    # Its own state dir and Redis databases: the session's worker keeps its file and its tasks.
    with own_redis_databases(worker_settings.model_copy(update={"state_dir": tmp_path})) as own:
        env = {**worker_env, **redis_env(own), "STATE_DIR": str(tmp_path)}
        path = ready_file(own)
        assert stack_probe(env) != 0
        argv = [DEV, "run", "worker"]
        # SIGTERM, as process-compose stops it: a warm shutdown that exits 0.
        with ServiceProcess("worker-readiness", argv, env, tmp_path, signal.SIGTERM) as process:
            process.wait_until(path.exists, WORKER_READY_SECONDS, "to write its readiness file")
            pid = int(path.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert command[1:4] == [b"-m", b"worker", b"worker"], command  # Celery's main process
            assert stack_probe(env) == 0
            assert process.stop() == 0, process.output()
        assert not path.exists()
        assert stack_probe(env) != 0
