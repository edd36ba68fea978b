"""`.vscode/launch.json` attaches to every debuggable component on its default debug port."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.components import DEBUGGABLE as COMPONENTS
from core.settings import DEFAULT_PORTS, ROOT

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def load_jsonc(name: str) -> Any:
    text = (ROOT / ".vscode" / name).read_text()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE))


def test_one_attach_configuration_per_component_on_its_port() -> None:
    configurations = {c["name"]: c for c in load_jsonc("launch.json")["configurations"]}
    for component in COMPONENTS:
        attach = configurations[f"Attach: {component}"]
        assert attach["type"] == "debugpy" and attach["request"] == "attach"
        assert attach["connect"] == {
            "host": "127.0.0.1",
            "port": DEFAULT_PORTS[f"debug_port_{component}"],
        }
        launch = configurations[f"Launch: {component} (dev run {component})"]
        assert launch["module"] == "scripts.dev" and launch["args"][:2] == ["run", component]


def test_attach_all_compound_covers_every_component() -> None:
    compounds = {c["name"]: c for c in load_jsonc("launch.json")["compounds"]}
    assert sorted(compounds["Attach: all"]["configurations"]) == sorted(
        f"Attach: {component}" for component in COMPONENTS
    )


def test_recommended_extensions() -> None:
    assert set(load_jsonc("extensions.json")["recommendations"]) >= {
        "ms-python.python",
        "ms-python.debugpy",
        "charliermarsh.ruff",
    }
