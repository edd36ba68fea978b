"""The rules every overlay keeps, read from the rendered manifests: one beat, probes, resources and
no root everywhere, pinned images, a migrate that runs once, a worker that finishes its tasks and
whose liveness never asks the broker."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import (
    Manifest,
    container,
    containers,
    environment,
    find,
    pod_spec,
    workloads,
)
from worker.celery_app import create_celery
from worker.heartbeat import INTERVAL_SECONDS

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


def test_every_container_has_probes(rendered: Rendered, overlay: str) -> None:
    for workload in workloads(rendered[overlay]):
        if workload["kind"] == "Job":
            continue  # runs to its end: nothing to probe
        for found in pod_spec(workload)["containers"]:
            where = f"{workload['metadata']['name']}/{found['name']}"
            assert "livenessProbe" in found, where
            if found.get("ports"):  # behind a Service: out of it while not ready
                assert "readinessProbe" in found, where


def test_the_api_probes_health_and_ready(rendered: Rendered, overlay: str) -> None:
    api = container(rendered[overlay], "api")
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"


@pytest.mark.parametrize("init", [False, True], ids=["containers", "init-containers"])
def test_every_container_has_resources(rendered: Rendered, overlay: str, init: bool) -> None:
    for workload, found in containers(rendered[overlay], init=init):
        resources = found.get("resources", {})
        where = f"{workload}/{found['name']}"
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
        assert "memory" in resources.get("limits", {}), where


def test_nothing_runs_as_root(rendered: Rendered, overlay: str) -> None:
    for workload in workloads(rendered[overlay]):
        pod = pod_spec(workload)
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert context["runAsUser"] != 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        for found in pod["containers"] + pod.get("initContainers", []):
            security = found["securityContext"]
            where = f"{workload['metadata']['name']}/{found['name']}"
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert "runAsUser" not in security or security["runAsUser"] != 0, where


def test_every_image_is_pinned(rendered: Rendered, overlay: str) -> None:
    for init in (False, True):
        for workload, found in containers(rendered[overlay], init=init):
            image = found["image"]
            name, _, tag = image.rpartition(":")
            assert "@sha256:" in image or (name and "/" not in tag), f"{workload}: {image}"
            assert tag != "latest", f"{workload}: {image}"


def test_migrate_runs_once(rendered: Rendered, overlay: str) -> None:
    migrate = find(rendered[overlay], "Job", "migrate")
    assert migrate["spec"]["backoffLimit"] == 0
    assert pod_spec(migrate)["restartPolicy"] == "Never"


def test_api_worker_and_beat_wait_for_the_schema(rendered: Rendered, overlay: str) -> None:
    for name in ("api", "worker", "beat"):
        init = pod_spec(find(rendered[overlay], "Deployment", name))["initContainers"]
        assert [c["command"][:3] for c in init] == [["python", "-m", "app.db.schema_head"]], name


def test_the_worker_has_time_to_finish_its_longest_task(rendered: Rendered, overlay: str) -> None:
    celery = create_celery(worker_settings(rendered[overlay]))
    celery.loader.import_default_modules()
    limits = [celery.conf.task_time_limit] + [
        task.time_limit for task in celery.tasks.values() if task.time_limit
    ]
    grace = pod_spec(find(rendered[overlay], "Deployment", "worker"))[
        "terminationGracePeriodSeconds"
    ]
    assert max(limits) >= 660  # worker/tasks.py's prune_log_files: the limits were read
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
    celery = create_celery(settings)
    assert trigger["metadata"]["listName"] == celery.conf.task_default_queue
    assert trigger["metadata"]["databaseIndex"] == str(settings.celery_broker_db)
    assert celery.conf.worker_prefetch_multiplier == 1, "the queue's length is the work waiting"
