"""`dev prune`: a part cut from a scratch copy of the checkout leaves a green project.

The marker tests are fast; the scratch-copy test runs the copy's own `make lint` and fast tier
(minutes a part), so it is in `make test` only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from core.settings import ROOT
from scripts import generate, prune
from scripts.dev import cli as dev_cli
from scripts.prune import PruneError, cut

# The README and the pages under docs/ are searched like code: a removed part takes its own page
# (its paths), and every line of another page that names it is fenced (a row, a sentence, a
# paragraph), so no leftover is allowed there either; the link check of the copy's fast tier
# (tests/code/test_docs.py) holds the remaining pages' links together after a prune.
OPEN, END = "# part: ", "# end part: "  # split, so that this file carries no marker itself


@pytest.mark.fast
def test_a_block_goes_with_its_markers_and_other_parts_stay() -> None:
    text = f"a\n{OPEN}x\nb\n  {OPEN}y\nc\n  {END}y\n{END}x\nd\n{OPEN}y\ne\n{END}y\n"
    assert cut(text, ["x"]) == f"a\nd\n{OPEN}y\ne\n{END}y\n"
    assert cut(text, ["y"]) == f"a\n{OPEN}x\nb\n{END}x\nd\n"


@pytest.mark.fast
def test_a_marker_after_code_takes_that_line_only() -> None:
    text = f'deps = [\n    "a",\n    "b",  {OPEN}x\n]\nkept = 1  # partial: x\n'
    assert cut(text, ["x"]) == 'deps = [\n    "a",\n]\nkept = 1  # partial: x\n'
    assert cut("<!-- part: x -->\nm\n<!-- end part: x -->\nn\n", ["x"]) == "n\n"


@pytest.mark.fast
def test_unbalanced_markers_are_an_error() -> None:
    with pytest.raises(PruneError):
        cut(f"{OPEN}x\na\n", ["x"])
    with pytest.raises(PruneError):
        cut(f"a\n{END}x\n", ["x"])


@pytest.fixture(scope="module")
def checkout_texts() -> list[tuple[Path, str]]:
    return list(prune.text_files(ROOT))


@pytest.mark.fast
def test_every_file_of_the_checkout_has_balanced_markers(
    checkout_texts: list[tuple[Path, str]],
) -> None:
    everything = [part.name for part in prune.REMOVABLE]
    for relative, text in checkout_texts:
        try:
            cut(text, everything)
        except PruneError as error:
            pytest.fail(f"{relative}: {error}")


@pytest.mark.fast
@pytest.mark.parametrize("part", prune.REMOVABLE, ids=lambda part: part.name)
def test_once_its_fences_are_cut_no_line_names_a_part(
    part: prune.Removable, checkout_texts: list[tuple[Path, str]]
) -> None:
    """The slow test below, without the copy: a line that names a part outside its fences (a
    comment pointing at one of its files, say) fails here in the fast tier, not after a bootstrap
    and a prune. The generated files are left out: the prune makes them again from the templates,
    which are checked as cut."""
    if not prune.is_present(part, files=checkout_texts):
        pytest.skip(f"already removed from this project: {part.name}")
    generated = {output.path.as_posix() for output in generate.outputs()}
    written = [each for each in checkout_texts if each[0].as_posix() not in generated]
    pruned = prune.cut_files(prune.closure([part.name]), written)
    left = list(prune.leftovers(part, files=((relative, edited) for relative, _, edited in pruned)))
    assert left == [], "\n".join(left)


@pytest.mark.fast
def test_an_unknown_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    result = dev_here(monkeypatch, "prune", "no-such-part")
    assert result.exit_code == 2
    assert "no part named 'no-such-part'" in result.stderr


@pytest.mark.fast
def test_parts_lists_every_removable_part_and_whether_it_is_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = dev_here(monkeypatch, "parts")
    assert result.exit_code == 0, result.stderr
    listed = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert listed == {
        part.name: "present" if prune.is_present(part) else "absent" for part in prune.REMOVABLE
    }


def dev_here(monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`dev *args` on this checkout, in this process (the CLI goes to the checkout's root; the
    working directory is given back after the test); `python -m scripts.dev` is tested once, in
    test_dev_module."""
    monkeypatch.chdir(ROOT)
    return CliRunner().invoke(dev_cli, list(args))


def scratch_copy(target: Path) -> Path:
    """The checkout's files as they are now (tracked and new, not ignored) under `target`, with
    the checkout's .tools (uv, process-compose) linked; its .venv is its own, from the uv cache."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            (target / source.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.relative_to(ROOT), follow_symlinks=False)
    (target / ".tools").symlink_to(ROOT / ".tools")
    return target


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTEST_ADDOPTS"}}
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)


def passes(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


# Each part alone, and all of them in one call, as `copier copy` asks for its smallest variant.
VARIANTS = [(part.name,) for part in prune.REMOVABLE] + [tuple(p.name for p in prune.REMOVABLE)]


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("names", VARIANTS, ids=lambda names: "+".join(names))
def test_pruned_parts_leave_a_green_project(names: tuple[str, ...], tmp_path: Path) -> None:
    gone = [name for name in names if not prune.is_present(prune.by_name(name))]
    if gone:  # a project made without them (copier): nothing left to prune
        pytest.skip(f"already removed from this project: {', '.join(gone)}")
    copy = scratch_copy(tmp_path / "project")
    bootstrap = run(copy, "make", "bootstrap")
    assert bootstrap.returncode == 0, passes(bootstrap)

    pruned = run(copy, ".venv/bin/dev", "prune", *names)
    assert pruned.returncode == 0, passes(pruned)
    again = run(copy, ".venv/bin/dev", "prune", *names)
    assert again.returncode == 0, passes(again)
    for name in names:
        assert f"pruned {name}" in pruned.stdout
        assert f"{name}: not present, nothing to do" in again.stdout
        left = list(prune.leftovers(prune.by_name(name), copy))
        assert left == [], "\n".join(left)
    for check in (
        ("make", "lint"),
        ("make", "test-fast"),
        (".venv/bin/dev", "generate", "--check"),
    ):
        result = run(copy, *check)
        assert result.returncode == 0, f"{' '.join(check)}: {passes(result)}"
