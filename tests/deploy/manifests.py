"""Reading rendered manifests: the workloads, their pod specs and containers."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

Manifest = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet", "Job")


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def workloads(manifests: list[Manifest]) -> Iterator[Manifest]:
    return (m for m in manifests if m["kind"] in WORKLOADS)


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest of `kind` and `name` (a generated name: its prefix before the hash)."""
    found = [
        m
        for m in manifests
        if m["kind"] == kind
        and (m["metadata"]["name"] == name or m["metadata"]["name"].rsplit("-", 1)[0] == name)
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def containers(manifests: list[Manifest], *, init: bool = False) -> Iterator[tuple[str, Manifest]]:
    """(workload name, container) of every workload's containers (or init containers)."""
    for workload in workloads(manifests):
        for container in pod_spec(workload).get("initContainers" if init else "containers", []):
            yield workload["metadata"]["name"], container


def container(manifests: list[Manifest], workload: str) -> Manifest:
    """The main container of `workload` (named after it)."""
    for name, found in containers(manifests):
        if name == workload and found["name"] == workload:
            return found
    raise AssertionError(f"no container {workload} in a workload {workload}")


def environment(manifests: list[Manifest], workload: str) -> dict[str, str]:
    """The variables the container of `workload` starts with: envFrom's ConfigMaps and Secrets
    in order, then env (values and keys of ConfigMaps), as the kubelet resolves them."""
    found = container(manifests, workload)
    variables: dict[str, str] = {}
    for source in found.get("envFrom", []):
        variables |= _data(manifests, source)
    for variable in found.get("env", []):
        if "value" in variable:
            variables[variable["name"]] = variable["value"]
        else:
            ref = variable["valueFrom"]["configMapKeyRef"]
            variables[variable["name"]] = _data(manifests, {"configMapRef": ref})[ref["key"]]
    return variables


def _data(manifests: list[Manifest], source: Manifest) -> dict[str, str]:
    if "configMapRef" in source:
        name = source["configMapRef"]["name"]
        return dict(_by_name(manifests, "ConfigMap", name).get("data", {}))
    name = source["secretRef"]["name"]
    data = _by_name(manifests, "Secret", name).get("data", {})
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def _by_name(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} is referred to but not rendered"
    return found[0]
