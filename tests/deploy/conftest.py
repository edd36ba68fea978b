"""Each overlay of deploy/k8s as `kubectl kustomize` renders it (tests/deploy/kustomize.py), kept
in pytest's cache under a hash of every file of deploy/k8s and of the kubectl binary: a run after
a change renders again, a run without one reads it back (three kubectl runs are ~0.25 s of each
test process's work). Its imports are made by the fixtures: every test process loads this file,
`make test-fast`'s controller too, which runs no test (tests/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.deploy.manifests import Manifest


@pytest.fixture(scope="session")
def rendered_text(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Each overlay's manifests as kubectl renders them (from the cache when nothing changed)."""
    from tests.deploy.kustomize import OVERLAYS, inputs_key, render

    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    inputs = inputs_key()
    cached = cache.get("k8s/rendered", None) if cache else None
    if (  # any JSON may be there (an older layout, a hand edit): only a whole match is used
        isinstance(cached, dict)
        and cached.get("inputs") == inputs
        and isinstance(cached.get("texts"), dict)
        and sorted(cached["texts"]) == OVERLAYS
    ):
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
    import yaml

    return {
        overlay: [doc for doc in yaml.load_all(text, yaml.CSafeLoader) if doc]
        for overlay, text in rendered_text.items()
    }
