"""Beat, with a one-second schedule, sends the periodic tasks; the worker runs them."""

from __future__ import annotations

import sys
import uuid
from collections import Counter

import orjson
import redis
from celery import Celery

from core.settings import ROOT, Settings
from tests.support.processes import ServiceProcess
from tests.support.services import fetch
from tests.worker.short_schedule import SCHEDULE
from worker.heartbeat import heartbeat_file
from worker.schedule import schedule_file
from worker.users import STATS_KEY

BEAT_SECONDS = 30


def successes(settings: Settings) -> Counter[str]:
    """How many times each task has succeeded, from the result backend (results are extended)."""
    counts: Counter[str] = Counter()
    with redis.Redis.from_url(settings.redis_db_url(settings.celery_result_db)) as results:
        for key in results.scan_iter("celery-task-meta-*"):
            meta = orjson.loads(results.get(key) or b"{}")
            if meta.get("status") == "SUCCESS":
                counts[meta.get("name")] += 1
    return counts


def test_beat_triggers_each_periodic_task_twice_and_keeps_its_schedule_in_the_state_dir(
    worker: ServiceProcess,
    worker_settings: Settings,
    worker_env: dict[str, str],
    celery_client: Celery,
) -> None:
    periodic = [entry["task"] for entry in SCHEDULE.values()]
    before = successes(worker_settings)
    tag = uuid.uuid4().hex[:8]
    fetch(
        worker_settings,
        "insert into users (username, email)"
        f" select '{tag}' || n, '{tag}' || n || '@example.com' from generate_series(1, 3) n",
    )
    with redis.Redis.from_url(worker_settings.redis_url) as client:
        client.delete(STATS_KEY)
    argv = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "tests.worker.short_schedule",
        "beat",
        "--pidfile",
        str(worker_settings.run_dir / "beat-test.pid"),
    ]
    worker_settings.run_dir.mkdir(parents=True, exist_ok=True)
    with ServiceProcess("beat", argv, worker_env, worker_settings.state_dir / "test-logs") as beat:
        beat.wait_until(
            lambda: all(successes(worker_settings)[name] >= before[name] + 2 for name in periodic),
            timeout=BEAT_SECONDS,
        )
        assert beat.stop() == 0, beat.output()[-3000:]

    schedule = schedule_file(worker_settings)
    assert [
        path.name for path in schedule.parent.iterdir() if path.name.startswith(schedule.name)
    ], "beat wrote no schedule file"
    assert not list(ROOT.glob("celerybeat-schedule*")), "beat wrote its schedule into the checkout"
    assert heartbeat_file(worker_settings, "beat").exists(), "beat wrote no heartbeat (liveness)"
    records = [orjson.loads(line) for line in beat.output().splitlines() if line.startswith("{")]
    assert {record["component"] for record in records} == {"beat"}
    # The stats task counted the users that are in the worker's database (3 of them this test's).
    users = fetch(worker_settings, "select count(*) from users")[0][0]
    assert users >= 3
    with redis.Redis.from_url(worker_settings.redis_url) as client:
        assert client.hget(STATS_KEY, "users") == str(users).encode()
