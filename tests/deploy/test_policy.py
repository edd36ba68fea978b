"""The rules every overlay keeps, read from the rendered manifests: probes, resources and no root
everywhere, pinned images, a migrate that runs once."""
# The worker's and beat's own rules: tests/deploy/test_background_policy.py.  # part: background

from __future__ import annotations

import pytest

from core.components import COMPONENTS
from tests.deploy.kustomize import OVERLAYS
from tests.deploy.manifests import (
    Manifest,
    container,
    containers,
    find,
    pod_spec,
    workloads,
)

pytestmark = [pytest.mark.fast, pytest.mark.parametrize("overlay", OVERLAYS)]

Rendered = dict[str, list[Manifest]]


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


def test_what_reads_postgres_waits_for_the_schema(rendered: Rendered, overlay: str) -> None:
    for name in {"api", "worker", "beat"} & {c.name for c in COMPONENTS}:
        init = pod_spec(find(rendered[overlay], "Deployment", name))["initContainers"]
        assert [c["command"][:3] for c in init] == [["python", "-m", "app.db.schema_head"]], name
