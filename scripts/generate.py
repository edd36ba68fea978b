"""`dev generate`: the files that list components, made from the component table.

Each file under scripts/templates/ makes the file at the same path from the checkout's root.
A template named after a component (deploy/k8s/base/api.yaml) belongs to that component: it is
written only while the component is in the table, and `--remove-orphans` deletes it after.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.components import COMPONENTS
from core.settings import ROOT
from scripts.templating import render

TEMPLATES = Path(__file__).parent / "templates"
FRAGMENTS = TEMPLATES / "fragments"  # repeated by `@components`, never written alone
# Every component that ever had a file here: a file named after one absent from the table is an
# orphan.
KNOWN = ("postgres", "redis", "logserver", "migrate", "api", "worker", "beat", "flower")


@dataclass(frozen=True)
class Output:
    path: Path  # relative to the checkout's root
    text: str | None  # None: the file belongs to an absent component


def present() -> tuple[str, ...]:
    return tuple(component.name for component in COMPONENTS)


def outputs(names: tuple[str, ...] | None = None) -> Iterator[Output]:
    """What each template makes for the components `names` (default: the table's)."""
    names = present() if names is None else names
    for template in sorted(TEMPLATES.rglob("*")):
        if not template.is_file() or FRAGMENTS in template.parents:
            continue
        owner = template.stem if template.stem in KNOWN else None
        relative = template.relative_to(TEMPLATES)
        if owner is not None and owner not in names:
            yield Output(relative, None)
        else:
            yield Output(relative, render(template.read_text(), names, FRAGMENTS))


def stale(root: Path = ROOT) -> list[Path]:
    """The generated files that differ from what the table makes (or an orphan still there)."""
    found = []
    for output in outputs():
        target = root / output.path
        current = target.read_text() if target.exists() else None
        if output.text is None and current is None:
            continue
        if current != output.text:
            found.append(output.path)
    return found


def write(root: Path = ROOT, *, remove_orphans: bool = False) -> list[Path]:
    """Write every generated file; with `remove_orphans`, delete those of absent components."""
    changed = []
    for output in outputs():
        target = root / output.path
        if output.text is None:
            if remove_orphans and target.exists():
                target.unlink()
                changed.append(output.path)
        elif not target.exists() or target.read_text() != output.text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(output.text)
            changed.append(output.path)
    return changed
