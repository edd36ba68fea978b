"""The README is the front door and docs/ holds the rest: the README stays short and starts with
the two commands, links every page, and no link, anchor, `make` target or `dev` command that the
documentation names is missing. Each check is a function of text, so a bad sample shows it fails."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePosixPath

import pytest
import typer.main

from core.settings import ROOT
from scripts.dev import cli

pytestmark = pytest.mark.fast  # files only: make test-fast runs it

README_LIMIT = 200
FIRST_COMMANDS = ["make dev", "make test"]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks."""
    return FENCE.findall(text)


def prose(text: str) -> str:
    """The text without its code blocks and inline code."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: lowercase, punctuation but - and _ dropped, spaces to -."""
    plain = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2 ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def too_long(text: str, limit: int = README_LIMIT) -> list[str]:
    lines = text.count("\n")
    return [f"{lines} lines, the limit is under {limit}"] if lines >= limit else []


def wrong_first_block(text: str) -> list[str]:
    """The first code block must be the two commands, each with its comment, and nothing else."""
    blocks = code_blocks(text)
    if not blocks:
        return ["no code block"]
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    commands = [line.split("#", 1)[0].strip() for line in lines]
    problems = [] if commands == FIRST_COMMANDS else [f"first block runs {commands}"]
    return problems + [f"no comment: {line!r}" for line in lines if "#" not in line]


def unlinked_pages(readme: str, pages: list[str]) -> list[str]:
    """Pages (paths from the root, docs/x.md) the README does not link to."""
    linked = {target.split("#", 1)[0] for target in LINK.findall(prose(readme))}
    return [page for page in pages if page not in linked]


def broken_links(text: str, page: str, read: Callable[[str], str | None]) -> list[str]:
    """Relative links of `page` whose file (read by path from the root) or #anchor is missing."""
    problems = []
    for target in LINK.findall(prose(text)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = str(PurePosixPath(page).parent / path) if path else page
        resolved = str(PurePosixPath(*_normal(PurePosixPath(resolved).parts)))
        linked = read(resolved)
        if linked is None:
            problems.append(f"{page}: {target}: no file {resolved}")
        elif anchor and anchor not in anchors(linked):
            problems.append(f"{page}: {target}: no heading with anchor #{anchor}")
    return problems


def _normal(parts: tuple[str, ...]) -> list[str]:
    kept: list[str] = []
    for part in parts:
        if part == "..":
            kept = kept[:-1]
        elif part != ".":
            kept.append(part)
    return kept or ["."]


def commands(text: str) -> Iterator[list[str]]:
    """Each command of the code blocks, as words, its VAR=value prefix dropped. (Inline code is left
    out: prose may name a command that is planned, as docs/components.md does `dev prune`.)"""
    for snippet in code_blocks(text):
        for line in snippet.splitlines():
            for command in re.split(r"&&|\|\||[;|(]", line.split(" #", 1)[0]):
                words = command.split()
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words.pop(0)
                if words:
                    yield words


def unknown_make_targets(text: str, targets: set[str]) -> list[str]:
    return [
        " ".join(words)
        for words in commands(text)
        if words[0] == "make" and len(words) > 1 and not words[1].startswith("-")
        if words[1] not in targets
    ]


def unknown_dev_commands(text: str, tree: Mapping[str, set[str]]) -> list[str]:
    """`dev X [Y]` (or .venv/bin/dev) where X is no command, or Y no subcommand of group X."""
    problems = []
    for words in commands(text):
        if words[0] not in ("dev", ".venv/bin/dev"):
            continue
        name = words[1] if len(words) > 1 else ""
        if name.startswith("-") or not name:
            continue
        subcommands = tree.get(name)
        if subcommands is None:
            problems.append(" ".join(words))
        elif subcommands and len(words) > 2 and not words[2].startswith("-"):
            if words[2] not in subcommands:
                problems.append(" ".join(words))
    return problems


def make_targets(makefile: str) -> set[str]:
    return set(re.findall(r"^([a-zA-Z][\w-]*)\s*:(?!=)", makefile, re.MULTILINE))


def dev_commands() -> dict[str, set[str]]:
    """The dev CLI's commands, each with its subcommands (empty for a plain command)."""
    group = typer.main.get_group(cli)  # typer's own click: a group is what has `commands`
    return {name: set(getattr(command, "commands", {})) for name, command in group.commands.items()}


def pages() -> list[str]:
    return sorted(f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md"))


def read_from_root(path: str) -> str | None:
    file = ROOT / path
    return file.read_text() if file.is_file() else None


def documents() -> list[str]:
    return ["README.md", *pages()]


README = (ROOT / "README.md").read_text()


def test_the_readme_is_under_200_lines() -> None:
    assert too_long(README) == []


def test_the_readme_starts_with_the_two_commands() -> None:
    assert wrong_first_block(README) == []


def test_the_readme_links_every_docs_page() -> None:
    assert pages(), "no docs/*.md"
    assert unlinked_pages(README, pages()) == []


@pytest.mark.parametrize("document", documents())
def test_every_relative_link_and_anchor_resolves(document: str) -> None:
    assert broken_links(read_from_root(document) or "", document, read_from_root) == []


@pytest.mark.parametrize("document", documents())
def test_every_make_target_named_exists(document: str) -> None:
    targets = make_targets((ROOT / "Makefile").read_text())
    assert {"dev", "test", "test-fast", "lint"} <= targets
    assert unknown_make_targets(read_from_root(document) or "", targets) == []


@pytest.mark.parametrize("document", documents())
def test_every_dev_command_named_exists(document: str) -> None:
    tree = dev_commands()
    assert {"up", "run", "sql"} <= set(tree) and "list" in tree["sql"]
    assert unknown_dev_commands(read_from_root(document) or "", tree) == []


def test_github_anchors() -> None:
    assert github_anchor("What `make test` runs") == "what-make-test-runs"
    assert github_anchor("Storage: Postgres, Redis and the log server") == (
        "storage-postgres-redis-and-the-log-server"
    )
    assert anchors("# A\n```sh\n# not a heading\n```\n## A\n") == {"a", "a-1"}


PAGES = {"README.md": "# Top\n## Part one\n", "docs/a.md": "# A page\n"}
TREE = {"run": set(), "sql": {"list", "show"}}
TARGETS = {"dev", "test"}
GOOD_README = "# Title\n\n```sh\nmake dev     # start\nmake test    # test\n```\n"


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (too_long, "line\n" * 199, "line\n" * 200),
        (wrong_first_block, GOOD_README, GOOD_README.replace("make test", "make lint")),
        (wrong_first_block, GOOD_README, GOOD_README.replace("    # test", "")),
        (wrong_first_block, GOOD_README, GOOD_README.replace("# test\n", "# test\nmake up # x\n")),
        (lambda text: unlinked_pages(text, ["docs/a.md"]), "[a](docs/a.md)", "[a](docs/b.md)"),
        (
            lambda text: broken_links(text, "docs/b.md", PAGES.get),
            "[a](a.md) [top](../README.md#part-one) [web](https://x.org/y.md)",
            "[gone](c.md)",
        ),
        (lambda text: broken_links(text, "docs/b.md", PAGES.get), "", "[x](../README.md#part-two)"),
        (lambda text: broken_links(text, "docs/a.md", PAGES.get), "[me](#a-page)", "[me](#nope)"),
        (
            lambda text: unknown_make_targets(text, TARGETS),
            "```sh\nDEBUG=api make dev && make test  # make sure\n```",
            "```sh\nmake dev; make deploy\n```",
        ),
        (
            lambda text: unknown_dev_commands(text, TREE),
            "```sh\n.venv/bin/dev run api --debug\ndev sql show x\nuv sync\n```",
            "```sh\n.venv/bin/dev start api\n```",
        ),
        (
            lambda text: unknown_dev_commands(text, TREE),
            "```\ndev sql list\n```",
            "```\ndev sql drop\n```",
        ),
    ],
)
def test_each_check_passes_good_text_and_fails_bad_text(
    check: Callable[[str], list[str]], good: str, bad: str
) -> None:
    assert check(good) == []
    assert check(bad) != []


def test_the_command_checks_see_the_readmes_commands() -> None:
    seen = [words[:2] for words in commands(README)]
    assert ["make", "dev"] in seen and [".venv/bin/dev", "run"] in seen
