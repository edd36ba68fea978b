"""The settings and environment of a run of its own (a test session, a bench, the stack test):
its own state dir and a free port for every port setting, so that it runs beside the dev stack
and other checkouts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.settings import DEFAULT_PORTS, GENERATED_SECRETS, Settings, load_settings
from scripts.credentials import generate_all
from scripts.ports import free_port


@dataclass(frozen=True)
class IsolatedRun:
    settings: Settings
    overrides: dict[str, str]  # the variables that make it isolated, by their env names
    env: dict[str, str]  # os.environ plus `overrides`: what a subprocess needs to see `settings`


def isolated_run(state_dir: Path, **overrides: str) -> IsolatedRun:
    """A run under `state_dir` on free ports (PORT_OFFSET 0), with nothing under the debugger
    and secrets of its own; `overrides` (setting names, any case) win."""
    values = {name.upper(): str(free_port()) for name in DEFAULT_PORTS}
    values.update(STATE_DIR=str(state_dir), PORT_OFFSET="0", DEBUG="")
    values.update({name.upper(): value for name, value in overrides.items()})
    generate_all(state_dir)  # its own secrets, in its state dir
    settings = load_settings(**{name.lower(): value for name, value in values.items()})
    # ... and in its variables too, so that a process of the run given another STATE_DIR (a
    # worker with a folder of its own) still uses the run's servers' passwords.
    for name in GENERATED_SECRETS:
        values.setdefault(name.upper(), settings.secret(name) or "")
    return IsolatedRun(settings, values, {**os.environ, **values})
