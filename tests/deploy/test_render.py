"""Every overlay renders, and passes kubernetes-validate's strict validation (the API's schemas,
offline; unknown fields rejected) for the oldest and the newest Kubernetes the manifests
support."""

from __future__ import annotations

import copy
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from core.components import COMPONENTS
from tests.deploy.kustomize import K8S, OVERLAYS, inputs_key
from tests.deploy.manifests import Manifest

pytestmark = pytest.mark.fast

# The oldest: the first release whose schemas kubernetes-validate ships; nothing here needs newer
# (autoscaling/v2 is from 1.23, policy/v1 from 1.21).
SUPPORTED = ("1.25.0", "1.37.0")
# Kinds of operators' resources, which no built-in schema covers (checked in test_policy).
CUSTOM_KINDS = {"ScaledObject"}


@pytest.fixture(scope="module", autouse=True)
def _schemas_read_once() -> Iterator[None]:
    """kubernetes-validate reads its schemas again for each resource, the definitions (megabytes
    of JSON) too: here each file is read once (0.7 s of the module's 1.6 s)."""
    utils = kubernetes_validate.utils
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "schema_contents", functools.cache(utils.schema_contents))
        yield


def test_the_render_cache_key_changes_with_each_file_it_reads_and_the_binary(
    tmp_path: Path,
) -> None:
    k8s, kubectl = tmp_path / "k8s", tmp_path / "kubectl"
    shutil.copytree(K8S, k8s)
    kubectl.write_bytes(b"v1")
    keys = [inputs_key(k8s, kubectl), inputs_key(k8s, kubectl)]
    api = k8s / "base" / "api.yaml"
    api.write_text(api.read_text() + "# edited\n")
    keys.append(inputs_key(k8s, kubectl))
    (k8s / "overlays" / "local" / "added.yaml").write_text("")
    keys.append(inputs_key(k8s, kubectl))
    kubectl.write_bytes(b"v2.0")  # another binary
    keys.append(inputs_key(k8s, kubectl))
    assert keys[0] == keys[1]
    assert len(set(keys)) == 4, keys


def test_there_are_the_overlays() -> None:
    expected = ["local", "production"]
    expected.insert(0, "keda")  # part: background
    assert OVERLAYS == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_renders_every_component(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    names = {(m["kind"], m["metadata"]["name"]) for m in rendered[overlay]}
    expected = {
        ("Deployment", "api"),
        ("Service", "api"),
        ("HorizontalPodAutoscaler", "api"),
        ("Deployment", "worker"),  # part: background
        ("Deployment", "beat"),  # part: background
        ("Deployment", "flower"),  # part: flower
        ("StatefulSet", "logserver"),  # part: logserver
        ("Job", "migrate"),
    }
    if overlay == "local":
        expected |= {("StatefulSet", "postgres"), ("StatefulSet", "redis")}
    assert expected <= names
    stores = {("StatefulSet", "postgres"), ("StatefulSet", "redis")}
    assert (overlay == "local") == (stores <= names), "only the local overlay runs the stores"


@pytest.mark.parametrize("version", SUPPORTED)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_strict_validation_passes(
    rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    """What `kubernetes-validate --strict --kubernetes-version V FILE` checks, in this process
    (the program's start costs 4 s a run): each resource against its kind's schema of
    version V, unknown fields rejected."""
    failures = []
    for manifest in rendered[overlay]:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if manifest["kind"] in CUSTOM_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(manifest, version, strict=True)
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            failures.append(f"{where}: {path}: {error.message}")
    assert failures == []


def test_strict_validation_rejects_an_unknown_field(rendered: dict[str, list[Manifest]]) -> None:
    api = copy.deepcopy(next(m for m in rendered["local"] if m["kind"] == "Deployment"))
    api["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
        kubernetes_validate.validate(api, SUPPORTED[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_workload_per_component(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """The component table (core/components.py) and the manifests name the same processes; the
    stores run in the cluster with the local overlay only."""
    kinds = {"Deployment", "StatefulSet", "Job"}
    found = {m["metadata"]["name"] for m in rendered[overlay] if m["kind"] in kinds}
    stores = {"postgres", "redis"}
    expected = {component.name for component in COMPONENTS}
    assert found == (expected if overlay == "local" else expected - stores)
