"""Give a project made from the template its own name: `python rename.py SLUG NAME DESCRIPTION`,
run in the new project.

copier runs it after rendering (copier.yml, `_tasks`) from the template's clone, before any
virtualenv exists, so it uses the standard library only; the project itself does not get it. It
replaces the template's slug `fastapi-stack` (package, compose and k8s names, image names, the
flake) by SLUG and its title `FastAPI stack` by NAME in every text file, and sets pyproject.toml's
description to DESCRIPTION.

It is idempotent: `copier update` runs it again over files already renamed, and an occurrence of
the old name that is part of the new one (slug `fastapi-stack-shop`) is left as it is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

SLUG = "fastapi-stack"
TITLE = "FastAPI stack"
# Machine-local or generated folders: never the project's own text.
SKIPPED = {
    ".git",
    ".venv",
    ".state",
    ".tools",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".schemathesis",
}
DESCRIPTION = re.compile(r'^description = ".*"$', re.MULTILINE)


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with each `old` replaced by `new`, except where it already lies inside a `new`."""
    if old == new:
        return text
    taken = [False] * len(text)
    for match in re.finditer(re.escape(new), text):
        taken[match.start() : match.end()] = [True] * len(new)
    parts, start = [], 0
    for match in re.finditer(re.escape(old), text):
        if not taken[match.start()]:
            parts += [text[start : match.start()], new]
            start = match.end()
    return "".join(parts) + text[start:]


def text_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not SKIPPED & set(relative.parts):
            yield path


def rename(root: Path, slug: str, name: str, description: str) -> list[Path]:
    """Rename the project under `root`; the files changed."""
    changed = []
    for path in text_files(root):
        try:
            old = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        new = replace_once(replace_once(old, SLUG, slug), TITLE, name)
        if path == root / "pyproject.toml":
            new = DESCRIPTION.sub(lambda _: f"description = {json.dumps(description)}", new, 1)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path.relative_to(root))
    return changed


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: python scripts/rename.py SLUG NAME DESCRIPTION")
    slug, name, description = sys.argv[1:]
    changed = rename(Path.cwd(), slug, name, description)
    print(f"rename: {SLUG} -> {slug}, {TITLE!r} -> {name!r} in {len(changed)} file(s)")


if __name__ == "__main__":
    main()
