"""core.preload, what the forking reloaders import before they fork: each library module that
imports, none that does not, and the garbage collector left as it was found."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from core import preload

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.enable() if enabled else gc.disable()


@pytest.mark.usefixtures("collector_restored")
@pytest.mark.parametrize("enabled", [True, False])
def test_preload_imports_what_imports_and_leaves_the_collector_as_it_was(enabled: bool) -> None:
    sys.modules.pop("colorsys", None)
    gc.enable() if enabled else gc.disable()
    preload.preload(["colorsys", "no_such_module_here", "json"])
    assert "colorsys" in sys.modules
    assert "no_such_module_here" not in sys.modules
    assert gc.isenabled() is enabled
