"""The dev reloader of worker and beat (worker/reloader.py): a worker killed with SIGKILL comes
back by itself, is not ready meanwhile, and runs the task it was running again, once; a task
running when an edit lands still ends with its result, once; beat comes back the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.result import AsyncResult

from core.settings import ROOT, Settings
from tests.support.paths import DEV
from tests.support.processes import ServiceProcess, wait_for
from tests.support.services import own_redis_databases, redis_env
from tests.support.worker import TASK_SECONDS, WORKER_READY_SECONDS
from tests.worker import slow_task
from worker.celery_app import create_celery
from worker.readiness import ready_file

SLOW_SECONDS = 3.0
BACK_SECONDS = 40  # a generous bound for a loaded machine (the bench measures the real time)


def stack_probe(process: str, env: dict[str, str]) -> int:
    """`process`'s readiness probe from process-compose.yaml, run as process-compose runs it."""
    config = yaml.safe_load((ROOT / "process-compose.yaml").read_text())
    command = config["processes"][process]["readiness_probe"]["exec"]["command"]
    command = command.replace("${STATE_DIR}", env["STATE_DIR"])
    probe = subprocess.run(["bash", "-c", command], env=env, capture_output=True, timeout=10)
    return probe.returncode


@pytest.fixture
def dev_settings(worker_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    # A state dir (readiness file) and a broker and results of its own.
    with own_redis_databases(worker_settings.model_copy(update={"state_dir": tmp_path})) as own:
        yield own


@pytest.fixture
def dev_env(worker_env: dict[str, str], dev_settings: Settings) -> dict[str, str]:
    return {
        **worker_env,
        "ENVIRONMENT": "dev",
        "STATE_DIR": str(dev_settings.state_dir),
        **redis_env(dev_settings),
    }


@pytest.fixture
def client(dev_settings: Settings) -> Iterator[Celery]:
    celery = create_celery(dev_settings)
    yield celery
    celery.close()


@pytest.fixture
def dev_worker(dev_settings: Settings, dev_env: dict[str, str]) -> Iterator[ServiceProcess]:
    """`dev run worker` in dev (under the reloader), with the test-only slow task."""
    argv = [DEV, "run", "worker", "--include", slow_task.MODULE]
    with ServiceProcess("worker-dev", argv, dev_env, dev_settings.state_dir) as process:
        process.wait_until(lambda: ready_pid(dev_settings) is not None, WORKER_READY_SECONDS)
        yield process
        assert process.stop() == 0, process.output()


def ready_pid(settings: Settings) -> int | None:
    try:
        return int(ready_file(settings).read_text())
    except (OSError, ValueError):
        return None


def start_slow_task(
    client: Celery, settings: Settings, worker: ServiceProcess, pid: int | None
) -> tuple[AsyncResult, str]:
    """Queues the slow task, once it has started in worker process `pid`; its result, and the
    key of the list its runs append to."""
    key = f"runs-{uuid.uuid4().hex}"
    slow = client.send_task(slow_task.NAME, args=[key, SLOW_SECONDS])
    worker.wait_until(
        lambda: slow_task.runs(results_url(settings), key) == [f"start {pid}"],
        TASK_SECONDS,
        "to start the slow task",
    )
    return slow, key


def results_url(settings: Settings) -> str:
    return settings.redis_db_url(settings.celery_result_db)


def test_a_killed_worker_comes_back_and_runs_its_task_again_once(
    dev_settings: Settings,
    dev_env: dict[str, str],
    client: Celery,
    dev_worker: ServiceProcess,
) -> None:
    first = ready_pid(dev_settings)
    assert first is not None and stack_probe("worker", dev_env) == 0
    slow, key = start_slow_task(client, dev_settings, dev_worker, first)

    os.kill(first, signal.SIGKILL)  # as the OOM killer does
    # Not ready once the reloader has reaped it (a zombie passed `kill -0`), until the next is.
    dev_worker.wait_until(
        lambda: stack_probe("worker", dev_env) != 0, BACK_SECONDS, "to be not ready"
    )
    dev_worker.wait_until(
        lambda: (
            ready_pid(dev_settings) not in (None, first) and stack_probe("worker", dev_env) == 0
        ),
        BACK_SECONDS,
        "to be back (a new worker, ready)",
    )
    second = ready_pid(dev_settings)

    ping = client.send_task("worker.tasks.ping")
    wait_for(lambda: ping.state == "SUCCESS", TASK_SECONDS, "a task queued after the kill to run")
    assert ping.result == "pong"
    wait_for(lambda: slow.state == "SUCCESS", BACK_SECONDS, "the killed worker's task to run again")
    assert slow.result == "done"
    # The first run was cut short with its process (it never ended), the second ran to its end:
    # one run at a time, and one that finished.
    # (The dev worker's pool is threads: a task runs in the worker's own process.)
    assert slow_task.runs(results_url(dev_settings), key) == [
        f"start {first}",
        f"start {second}",
        f"end {second}",
    ]
    assert "killed by SIGKILL" in dev_worker.output()


def test_a_task_running_across_an_edit_finishes_once(
    dev_settings: Settings, client: Celery, dev_worker: ServiceProcess
) -> None:
    first = ready_pid(dev_settings)
    slow, key = start_slow_task(client, dev_settings, dev_worker, first)
    # An untracked file (and git-ignored, should the test be killed before it deletes it).
    edit = ROOT / "worker" / f"_edit_probe_{uuid.uuid4().hex[:8]}.py"
    try:
        edit.write_text("# written by tests/worker/test_supervision.py, deleted right after\n")
        dev_worker.wait_until(
            lambda: ready_pid(dev_settings) not in (None, first),
            BACK_SECONDS,
            "to restart after the edit",
        )
    finally:
        edit.unlink(missing_ok=True)
    wait_for(lambda: slow.state == "SUCCESS", TASK_SECONDS, "the slow task to succeed")
    assert slow.result == "done"
    # It finished in the worker it started in (a warm shutdown waits for it), and ran once.
    assert slow_task.runs(results_url(dev_settings), key) == [f"start {first}", f"end {first}"]
    assert "change detected" in dev_worker.output()


def test_a_killed_beat_comes_back(dev_settings: Settings, dev_env: dict[str, str]) -> None:
    pidfile = dev_settings.run_dir / "beat.pid"

    def beat_pid() -> int | None:
        try:
            return int(pidfile.read_text())
        except (OSError, ValueError):
            return None

    with ServiceProcess("beat-dev", [DEV, "run", "beat"], dev_env, dev_settings.state_dir) as beat:
        beat.wait_until(lambda: stack_probe("beat", dev_env) == 0, WORKER_READY_SECONDS)
        first = beat_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        beat.wait_until(lambda: stack_probe("beat", dev_env) != 0, BACK_SECONDS, "to be not ready")
        beat.wait_until(
            lambda: beat_pid() not in (None, first) and stack_probe("beat", dev_env) == 0,
            BACK_SECONDS,
            "to be back",
        )
        assert beat.stop() == 0, beat.output()
    assert "killed by SIGKILL" in beat.output()
