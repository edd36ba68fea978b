"""The rules every overlay keeps for background work: one beat, a worker that finishes its tasks,
liveness that never asks the broker, and the KEDA overlay scaling on the worker's queue."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.settings import Settings, load_settings
from tests.deploy.kustomize import OVERLAYS
from tests.deploy.manifests import Manifest, container, environment, find, pod_spec
from tests.support.groups import IMPORTS_THE_APP
from worker.heartbeat import INTERVAL_SECONDS

if TYPE_CHECKING:
    from celery import Celery

pytestmark = [pytest.mark.fast, pytest.mark.parametrize("overlay", OVERLAYS)]

Rendered = dict[str, list[Manifest]]


def worker_settings(manifests: list[Manifest]) -> Settings:
    """The settings the worker's container starts with, its secrets set as a user sets them
    (production refuses the Secret's CHANGE-ME placeholders)."""
    variables = environment(manifests, "worker")
    return load_settings(
        **{
            name.lower(): "test-secret" if value == "CHANGE-ME" else value
            for name, value in variables.items()
        }
    )


def worker_celery(settings: Settings) -> Celery:
    """The worker's Celery app. Celery is imported here, so that collecting this module imports
    none of it (tests/support/groups.py)."""
    from worker.celery_app import create_celery

    return create_celery(settings)


def test_beat_is_one_and_recreated(rendered: Rendered, overlay: str) -> None:
    beat = find(rendered[overlay], "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    scaled = [
        m["spec"]["scaleTargetRef"]["name"]
        for m in rendered[overlay]
        if m["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    assert "beat" not in scaled


@IMPORTS_THE_APP
def test_the_worker_has_time_to_finish_its_longest_task(rendered: Rendered, overlay: str) -> None:
    celery = worker_celery(worker_settings(rendered[overlay]))
    celery.loader.import_default_modules()
    limits = [celery.conf.task_time_limit] + [
        task.time_limit for task in celery.tasks.values() if task.time_limit
    ]
    grace = pod_spec(find(rendered[overlay], "Deployment", "worker"))[
        "terminationGracePeriodSeconds"
    ]
    assert max(limits) >= 660  # prune_log_files's: the limits were read  # part: logserver
    assert grace >= max(limits)


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_the_liveness_only_reads_the_heartbeat_file(
    rendered: Rendered, overlay: str, name: str, tmp_path: Path
) -> None:
    """No broker round trip (no celery, no Python, no network): the probe is a shell reading the
    file's age, run here on a fresh, a stale and a missing file."""
    command = container(rendered[overlay], name)["livenessProbe"]["exec"]["command"]
    script = " ".join(command)
    for word in ("celery", "python", "redis", "valkey", "inspect", "ping"):
        assert word not in script, script
    assert command[:2] == ["sh", "-c"]
    assert f"/state/run/{name}.heartbeat" in command[2]
    probe = [*command[:2], command[2].replace("/state/", f"{tmp_path}/")]

    def run() -> int:
        return subprocess.run(probe, check=False, capture_output=True, timeout=10).returncode

    assert run() != 0, "a missing file is dead"
    heartbeat = tmp_path / "run" / f"{name}.heartbeat"
    heartbeat.parent.mkdir()
    heartbeat.touch()
    assert run() == 0, "a fresh file is alive"
    stale = time.time() - 120
    os.utime(heartbeat, (stale, stale))
    assert run() != 0, "a file untouched for 2 minutes is dead"
    period = container(rendered[overlay], name)["livenessProbe"]["periodSeconds"]
    assert INTERVAL_SECONDS < period


@IMPORTS_THE_APP
def test_the_keda_scaler_reads_the_workers_queue(rendered: Rendered, overlay: str) -> None:
    scalers = [m for m in rendered[overlay] if m["kind"] == "ScaledObject"]
    assert (overlay == "keda") == bool(scalers)
    if not scalers:
        return
    worker = find(rendered[overlay], "Deployment", "worker")
    assert "replicas" not in worker["spec"], "KEDA owns the worker's replicas"
    [scaler] = scalers
    assert scaler["spec"]["scaleTargetRef"]["name"] == "worker"
    [trigger] = scaler["spec"]["triggers"]
    settings = worker_settings(rendered[overlay])
    celery = worker_celery(settings)
    assert trigger["metadata"]["listName"] == celery.conf.task_default_queue
    assert trigger["metadata"]["databaseIndex"] == str(settings.celery_broker_db)
    assert celery.conf.worker_prefetch_multiplier == 1, "the queue's length is the work waiting"
