"""A Celery task in `dev run worker --debug`, stopped at a breakpoint through debugpy's adapter."""

from __future__ import annotations

from pathlib import Path

from core.settings import ROOT, Settings
from tests.debug.sessions import (
    attach,
    attach_config,
    follow_subprocesses,
    line_of,
    stopped_frame,
)
from tests.support.paths import DEV, TEST_STATE
from tests.support.processes import ServiceProcess, free_port, listening_addresses
from tests.support.services import own_redis_databases, redis_env, settings_env
from worker.celery_app import create_celery

TASKS = ROOT / "worker" / "tasks.py"


def log_dir() -> Path:
    path = TEST_STATE / "debug-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_breakpoint_in_a_task_hits_in_the_debugged_worker(
    services: Settings,
    service_overrides: dict[str, str],
) -> None:
    debug_port = free_port()
    # Redis databases of its own: only this test's task may reach the breakpoint, and the
    # session's worker (tests/worker) never takes it.
    with own_redis_databases(services) as own:
        env = settings_env(
            {**service_overrides, **redis_env(own), "DEBUG_PORT_WORKER": str(debug_port)}
        )
        _hit_the_breakpoint_in_a_task(own, env, debug_port)


def _hit_the_breakpoint_in_a_task(settings: Settings, env: dict[str, str], debug_port: int) -> None:
    line = line_of(TASKS, 'return "pong"')
    celery = create_celery(settings)
    worker = ServiceProcess(
        "worker-debug", [DEV, "run", "worker", "--debug", "--wait"], env, log_dir(), stop_signal=15
    )
    with worker:
        worker.wait_until(lambda: bool(listening_addresses(debug_port)), timeout=60)
        session = attach(debug_port, attach_config(debug_port), {TASKS: [line]})
        try:
            result = celery.send_task("worker.tasks.ping")
            _, frame, _ = stopped_frame([session], timeout=60)
            assert (frame["source"]["path"], frame["line"]) == (str(TASKS), line)
            assert not result.ready(), "the task finished while stopped at the breakpoint"
            session.request("continue", {"threadId": frame["threadId"]})
            assert result.get(timeout=30) == "pong"
        finally:
            session.close()
            celery.close()


def test_breakpoint_in_a_task_hits_again_after_the_dev_worker_restarts(
    services: Settings, service_overrides: dict[str, str], tmp_path: Path
) -> None:
    # In dev the debugged worker runs under its reloader, which debugpy follows into each fork.
    debug_port = free_port()
    with own_redis_databases(services) as own:
        env = settings_env(
            {
                **service_overrides,
                "DEBUG_PORT_WORKER": str(debug_port),
                "ENVIRONMENT": "dev",
                "STATE_DIR": str(tmp_path),
                **redis_env(own),
            }
        )
        _hit_the_breakpoint_again_after_a_restart(own, env, debug_port)


def _hit_the_breakpoint_again_after_a_restart(
    settings: Settings, env: dict[str, str], debug_port: int
) -> None:
    line = line_of(TASKS, 'return "pong"')
    breakpoints = {TASKS: [line]}
    celery = create_celery(settings)
    edit = ROOT / "worker" / f"_edit_probe_{debug_port}.py"  # untracked, git-ignored
    argv = [DEV, "run", "worker", "--debug", "--wait"]
    worker = ServiceProcess("worker-debug-dev", argv, env, log_dir(), stop_signal=15)
    with worker:
        worker.wait_until(lambda: bool(listening_addresses(debug_port)), timeout=60)
        parent = attach(debug_port, attach_config(debug_port), breakpoints)
        sessions = [parent]
        try:
            for restart in (False, True):
                if restart:
                    edit.write_text("# written by a debug test, deleted right after\n")
                sessions += follow_subprocesses(parent, debug_port, breakpoints)
                result = celery.send_task("worker.tasks.ping")
                session, frame, _ = stopped_frame(sessions, timeout=60)
                assert (frame["source"]["path"], frame["line"]) == (str(TASKS), line)
                session.request("continue", {"threadId": frame["threadId"]})
                assert result.get(timeout=30) == "pong"
        finally:
            edit.unlink(missing_ok=True)
            for session in sessions:
                session.close()
            celery.close()
    assert "change detected" in worker.output()
