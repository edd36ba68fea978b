"""The components of the stack, as data: one row per process of process-compose.yaml.

The settings' default ports (core.settings.DEFAULT_PORTS), the debuggable components, the dev
CLI's `dev run` (scripts.components.RUNNERS) and the watched folders of the reloading ones come
from this table, and `dev generate` makes process-compose.yaml, compose.yaml, .vscode/launch.json
and deploy/k8s/base from it (docs/components.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    """A process of the stack.

    `port` is its default port (setting `<name>_port`, shifted by PORT_OFFSET), `debug_port` that
    of debugpy when it runs under the debugger (setting `debug_port_<name>`), and `watched` the
    folders (from the checkout's root) whose edits reload it in dev.
    """

    name: str
    port: int | None = None
    debug_port: int | None = None
    watched: tuple[str, ...] = ()

    @property
    def port_setting(self) -> str | None:
        return f"{self.name}_port" if self.port is not None else None

    @property
    def debug_port_setting(self) -> str | None:
        return f"debug_port_{self.name}" if self.debug_port is not None else None


COMPONENTS: tuple[Component, ...] = (
    Component("postgres", port=5432),
    Component("redis", port=6379),
    Component("logserver", port=7779, debug_port=5681),
    Component("migrate"),
    Component("api", port=8000, debug_port=5678, watched=("app", "core", "sql")),
    Component("worker", debug_port=5679, watched=("worker", "app", "core")),
    Component("beat", debug_port=5680, watched=("worker", "core")),
    Component("flower", port=5555),
)
# Not a component: process-compose's own API (`dev up` uses a unix socket unless its path is long).
SUPERVISOR_PORTS = {"process_compose_port": 8080}


def by_name(name: str) -> Component:
    """The component `name`; KeyError if there is none."""
    found = {component.name: component for component in COMPONENTS}
    return found[name]


def default_ports() -> dict[str, int]:
    """Every port setting and its default (before PORT_OFFSET)."""
    ports = {c.port_setting: c.port for c in COMPONENTS if c.port_setting and c.port}
    ports |= SUPERVISOR_PORTS
    for c in COMPONENTS:
        if c.debug_port_setting and c.debug_port:
            ports[c.debug_port_setting] = c.debug_port
    return ports


DEBUGGABLE: tuple[str, ...] = tuple(c.name for c in COMPONENTS if c.debug_port is not None)
