"""A tiny line-based templating for the files generated from the component table.

Plain text is copied as is, so a template reads like the file it makes and keeps its comments.
Two directives, each alone on its line (leading spaces allowed):
- `@if NAME` ... `@end` keeps the block only when component NAME is present (blocks nest);
- `@components FILE` repeats the fragment FILE (beside the template) once per component present,
  with `{name}` replaced by the component's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class TemplateError(ValueError):
    """A template whose directives do not balance."""


def render(text: str, present: Iterable[str], folder: Path | None = None) -> str:
    """`text` with its directives applied for the components named in `present`."""
    names = tuple(present)
    kept: list[str] = []
    open_blocks: list[bool] = []
    for line in text.splitlines(keepends=True):
        directive = line.strip().split()
        keeping = all(open_blocks)
        if directive[:1] == ["@if"] and len(directive) == 2:
            open_blocks.append(directive[1] in names)
        elif directive == ["@end"]:
            if not open_blocks:
                raise TemplateError("@end without @if")
            open_blocks.pop()
        elif directive[:1] == ["@components"] and len(directive) == 2:
            if keeping:
                kept.append(repeat(directive[1], names, folder))
        elif keeping:
            kept.append(line)
    if open_blocks:
        raise TemplateError("@if without @end")
    return "".join(kept)


def repeat(fragment: str, names: tuple[str, ...], folder: Path | None) -> str:
    """The fragment rendered once per component name."""
    if folder is None:
        raise TemplateError(f"@components {fragment}: no template folder")
    source = (folder / fragment).read_text()
    return "".join(source.replace("{name}", name) for name in names)
