"""Make a project copied from the template its own, run in the new project:
`python rename.py SLUG NAME DESCRIPTION [--author "NAME <EMAIL>"] [--port-offset N]`, and
`python rename.py --first-commit [--author "NAME <EMAIL>"]` once the copy is complete.

copier runs it after rendering (copier.yml, `_tasks`) from the template's clone, before any
virtualenv exists, so it uses the standard library only; the project itself does not get it. It
replaces the template's slug `fastapi-stack` (package, compose and k8s names, image names, the
flake) by SLUG and its title `FastAPI stack` by NAME in every text file, sets pyproject.toml's
description and authors, and .env.example's PORT_OFFSET. It also writes a first .env.production
(git-ignored, 0600) with every CHANGE-ME secret generated: the secrets never pass through copier,
so they are in no answers file. `--first-commit` makes the new project a git repository of
its own with every file in one first commit (no template history), which `copier update` needs.

It is idempotent: `copier update` runs it again over files already renamed, and an occurrence of
the old name that is part of the new one (slug `fastapi-stack-shop`) is left as it is; an
existing .env.production is left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
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
DESCRIPTION = re.compile(r'^description = ".*"\n', re.MULTILINE)
AUTHORS = re.compile(r"^authors = .*\n", re.MULTILINE)
AUTHOR = re.compile(r"^(?P<name>[^<>\"\\]+?)(?:\s*<(?P<email>[^<>\s]+@[^<>\s]+)>)?$")
PORT_OFFSET = re.compile(r"^PORT_OFFSET=.*$", re.MULTILINE)
UNSET_SECRET = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=CHANGE-ME$", re.MULTILINE)


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


def authors_line(author: str) -> str:
    """pyproject.toml's `authors = [...]` line for "Name <email>" (or "Name"); "" for none."""
    if not author.strip():
        return ""
    match = AUTHOR.match(author.strip())
    if match is None:
        raise ValueError(f'author {author!r}: expected "Name <email>" or "Name"')
    entry = {"name": match["name"]} | ({"email": match["email"]} if match["email"] else {})
    fields = ", ".join(f"{key} = {json.dumps(value)}" for key, value in entry.items())
    return f"authors = [{{ {fields} }}]\n"


def _pyproject(text: str, description: str, author: str) -> str:
    """The description line, then the authors line (if any) in place of the old ones."""
    lines = f"description = {json.dumps(description)}\n{authors_line(author)}"
    return DESCRIPTION.sub(lambda _: lines, AUTHORS.sub("", text), 1)


def rename(
    root: Path, slug: str, name: str, description: str, author: str = "", port_offset: int = 0
) -> list[Path]:
    """Rename the project under `root`; the files changed."""
    changed = []
    for path in text_files(root):
        try:
            old = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        new = replace_once(replace_once(old, SLUG, slug), TITLE, name)
        if path == root / "pyproject.toml":
            new = _pyproject(new, description, author)
        elif path == root / ".env.example":
            new = PORT_OFFSET.sub(f"PORT_OFFSET={port_offset}", new, 1)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path.relative_to(root))
    return changed


def production_env(root: Path) -> Path | None:
    """Write .env.production from its example, each `NAME=CHANGE-ME` given a generated secret,
    readable by its owner only; None when it exists already (or there is no example)."""
    target, example = root / ".env.production", root / ".env.production.example"
    if target.exists() or not example.exists():
        return None
    text = UNSET_SECRET.sub(
        lambda match: f"{match['name']}={secrets.token_urlsafe(32)}", example.read_text()
    )
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    return target


FIRST_COMMIT = "A new project from the template"


def first_commit(root: Path, author: str = "") -> str:
    """`git init` in `root` and commit every file (what .gitignore leaves) as the first commit,
    by git's configured identity, else by `author` when it has an email; what was done, as a line.
    Nothing is done in a folder that is already inside a git work tree (a monorepo)."""

    def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=check)

    inside = git("rev-parse", "--show-toplevel", check=False)
    if inside.returncode == 0:
        top = inside.stdout.strip()
        return f"inside the git work tree {top}: no repository made, nothing committed"
    git("init", "--quiet")
    git("add", "--all")
    identity: list[str] = []
    match = AUTHOR.match(author.strip())
    if git("var", "GIT_COMMITTER_IDENT", check=False).returncode and match and match["email"]:
        identity = ["-c", f"user.name={match['name']}", "-c", f"user.email={match['email']}"]
    committed = git(*identity, "commit", "--quiet", "--message", FIRST_COMMIT, check=False)
    if committed.returncode:
        return (
            "made a git repository and staged every file, but could not commit (git has no"
            " identity: git config --global user.email you@example.org): commit them yourself"
        )
    return f"made a git repository with every file in a first commit ({FIRST_COMMIT!r})"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python scripts/rename.py", description=__doc__)
    parser.add_argument("slug", nargs="?")
    parser.add_argument("name", nargs="?")
    parser.add_argument("description", nargs="?")
    parser.add_argument("--author", default="")
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--first-commit", action="store_true", help="git init and commit, only")
    args = parser.parse_args()
    try:
        authors_line(args.author)
    except ValueError as error:
        parser.error(str(error))
    root = Path.cwd()
    if args.first_commit:
        print(f"rename: {first_commit(root, args.author)}")
        return
    if args.description is None:
        parser.error("SLUG, NAME and DESCRIPTION are needed (or --first-commit)")
    changed = rename(root, args.slug, args.name, args.description, args.author, args.port_offset)
    print(f"rename: {SLUG} -> {args.slug}, {TITLE!r} -> {args.name!r} in {len(changed)} file(s)")
    if production_env(root) is not None:
        print("rename: wrote .env.production (0600) with generated secrets; never commit it")


if __name__ == "__main__":
    main()
