"""`dev prune` and `dev parts`: cut a removable part out of the project.

A part is what `copier copy` may leave out: its folders and files (`paths`), its rows in the
component table (`rows`), and the lines of shared files that belong to it. Those lines are fenced
by comment markers, so cutting them is one generic block removal, not string surgery per file:

    # part: flower          a block: this line, the lines below it and the closing one go
    ...
    # end part: flower
    "flower>=2.0",  # part: flower      one line: a marker at the end of a line of code

`//` and `<!--` open a marker as well as `#` (JSON with comments, Markdown). After cutting, the
files generated from the component table are written again (`dev generate --remove-orphans`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.settings import ROOT


@dataclass(frozen=True)
class Removable:
    """A part `dev prune` can cut; `names` matches what would still name it once cut."""

    name: str
    summary: str
    paths: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()  # parts that go with it (background takes flower)
    names: str = ""


REMOVABLE: tuple[Removable, ...] = (
    Removable(
        "bench",
        "the benchmark: bench/ (its peer and baseline), make bench, make bench-dev",
        paths=("bench", "tests/bench", "docs/performance.md"),
        names=r"\bbench/|-m bench\b|make bench|\"bench\"|\bbench-dev\b",
    ),
    Removable(
        "devcontainer",
        "the VS Code devcontainer: .devcontainer/, the Dockerfile's dev target, their tests",
        paths=(
            ".devcontainer",
            "docs/devcontainer.md",
            "tests/env/test_devcontainer.py",
            "tests/containers/test_devcontainer.py",
            "tests/containers/inside.py",
            "tests/containers/forward.py",
            "tests/containers/podman_shim.py",
        ),
        names=r"devcontainer",
    ),
    Removable(
        "flake",
        "the Nix flake: flake.nix (nix develop) and its tests",
        paths=("flake.nix", "tests/env/test_flake.py", "tests/env/nixpkgs_stub", "docs/nix.md"),
        names=r"flake\.nix|nix develop|nixpkgs_stub|class Nix\b",
    ),
    Removable(
        "containers",
        "the container test tier: tests/containers (compose on Podman and Docker, the image)",
        paths=("tests/containers", "tests/env/test_image.py", "docs/containers.md"),
        names=r"tests/containers|tests\.containers|mark\.containers|\"containers:",
    ),
    Removable(
        "background",
        "background work: Celery worker, beat (and Flower), the tasks API and the Celery settings",
        paths=(
            "worker",
            "tests/worker",
            "tests/app/test_task_schemas.py",
            "docs/background-work.md",
            "tests/support/worker.py",
            "tests/deploy/test_background_policy.py",
            "app/api/routes/tasks.py",
            "app/services/tasks.py",
            "app/schemas/task.py",
            "core/celery_client.py",
            "core/tasks.py",
            "deploy/k8s/overlays/keda",
            "scripts/templates/deploy/k8s/base/worker.yaml",
            "scripts/templates/deploy/k8s/base/beat.yaml",
            "deploy/k8s/base/worker.yaml",
            "deploy/k8s/base/beat.yaml",
        ),
        rows=("worker", "beat"),
        includes=("flower",),
        names=r"(?-i:import celery|from celery|celery\[|[\"']celery|celery_|Celery\()"
        r"|from worker|import worker|worker\.celery_app|worker/|-m worker|core\.tasks"
        r"|tasks\.router",
    ),
    Removable(
        "flower",
        "Flower, the Celery dashboard: worker/flower.py, its settings, service and manifest",
        paths=(
            "worker/flower.py",
            "tests/worker/test_flower.py",
            "scripts/templates/deploy/k8s/base/flower.yaml",
            "deploy/k8s/base/flower.yaml",
        ),
        rows=("flower",),
        names=r"flower",
    ),
    Removable(
        "logserver",
        "the log server: logserver/ (server, shipper, tail, traces), its settings, service and"
        " manifest; records then go to stderr (the dev echo, or JSON lines)",
        paths=(
            "logserver",
            "tests/logserver",
            "docs/logserver.md",
            "tests/support/logserver.py",
            "tests/debug/test_logserver_debug.py",
            "tests/worker/test_log_files.py",
            "bench/log_throughput.py",
            "bench/access_log.py",
            "tests/worker/test_traces.py",
            "tests/stack/test_echo.py",
            "scripts/templates/deploy/k8s/base/logserver.yaml",
            "deploy/k8s/base/logserver.yaml",
        ),
        rows=("logserver",),
        names=r"from logserver|import logserver|-m logserver|make logserver|\blogserver[._/(]"
        r"|logserver (serve|tail|trace|stats)|\blog.?server_|port_logserver|(?-i:LogServer)"
        r"|[\"']logserver[\"']|log_base_path|log_rotate_bytes|log_retention_days|logs_dir"
        r"|prune.log.files",
    ),
)

# Never searched for markers or leftovers: what is not the project's text, and this machinery,
# which knows every part by name (so that `dev parts` can say which are gone, and copier can offer
# them: copier.yml and its test are the template's own, never copied into a project; a project
# made by copier lists the parts it kept in .copier-answers.yml).
SKIPPED_DIRS = {".git", ".venv", ".tools", ".state", "node_modules", "__pycache__"}
SKIPPED_DIRS |= {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".schemathesis"}
MACHINERY = {"scripts/prune.py", "tests/scripts/test_prune.py", "scripts/generate.py", "uv.lock"}
MACHINERY |= {"copier.yml", "tests/scripts/test_copier.py", ".copier-answers.yml"}

_OPEN = r"(?:#|//|<!--)\s*"
_NAME = r"(?P<name>[a-z][a-z0-9-]*)(?:\s*-->)?\s*$"
BEGIN = re.compile(rf"^\s*{_OPEN}part:\s*{_NAME}")
END = re.compile(rf"^\s*{_OPEN}end part:\s*{_NAME}")
TEMPLATE_IF = re.compile(r"^\s*@if\s+(?P<name>\S+)\s*$")  # scripts/templating.py's blocks
TEMPLATE_END = re.compile(r"^\s*@end\s*$")
INLINE = re.compile(rf"^\s*\S.*?\s{_OPEN}part:\s*{_NAME}")


Echo = Callable[[str], None]


class PruneError(ValueError):
    """Unknown part, or markers that do not balance."""


def by_name(name: str) -> Removable:
    for part in REMOVABLE:
        if part.name == name:
            return part
    known = ", ".join(part.name for part in REMOVABLE)
    raise PruneError(f"no part named {name!r} (removable: {known})")


def cut(text: str, names: Iterable[str]) -> str:
    """`text` without the lines fenced for the parts `names` (markers of other parts stay)."""
    cutting = set(names)
    kept: list[str] = []
    open_blocks: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if "part:" not in line and "@" not in line:  # no marker (most lines): the blocks decide
            dropped = bool(cutting.intersection(open_blocks))
        elif begin := BEGIN.match(line) or TEMPLATE_IF.match(line):
            open_blocks.append(begin["name"])
            dropped = bool(cutting.intersection(open_blocks))
        elif end := END.match(line):
            if not open_blocks or open_blocks[-1] != end["name"]:
                raise PruneError(f"line {number}: 'end part: {end['name']}' closes no such block")
            dropped = bool(cutting.intersection(open_blocks))
            open_blocks.pop()
        elif TEMPLATE_END.match(line):
            if not open_blocks:
                raise PruneError(f"line {number}: @end without @if")
            dropped = bool(cutting.intersection(open_blocks))
            open_blocks.pop()
        else:
            inline = INLINE.match(line)
            dropped = bool(cutting.intersection(open_blocks)) or (
                inline is not None and inline["name"] in cutting
            )
        if not dropped:
            kept.append(line)
    if open_blocks:
        raise PruneError(f"'part: {open_blocks[-1]}' is never closed")
    return "".join(kept)


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every text file of the project (relative path, content), machinery and caches aside."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):  # not into SKIPPED_DIRS (.venv: thousands of files)
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        found.extend(Path(folder, name) for name in files)
    for path in sorted(found):
        relative = path.relative_to(root)
        if relative.as_posix() in MACHINERY or not path.is_file() or path.is_symlink():
            continue
        try:
            yield relative, path.read_text()
        except UnicodeDecodeError:
            continue


def closure(names: Iterable[str]) -> list[Removable]:
    """The parts `names` and those that go with them."""
    found: dict[str, Removable] = {}
    pending = list(names)
    while pending:
        part = by_name(pending.pop())
        if part.name not in found:
            found[part.name] = part
            pending.extend(part.includes)
    return list(found.values())


def is_present(
    part: Removable, root: Path = ROOT, files: Iterable[tuple[Path, str]] | None = None
) -> bool:
    """Whether anything of the part is left: a path, a row or a fenced line (in the text files
    under `root`, or in `files`)."""
    if any((root / path).exists() for path in part.paths):
        return True
    return any(leftovers(part, root, markers_only=True, files=files))


def leftovers(
    part: Removable,
    root: Path = ROOT,
    *,
    markers_only: bool = False,
    files: Iterable[tuple[Path, str]] | None = None,
) -> Iterator[str]:
    """`path:line: text` for each line that still names the part (or carries its marker), in the
    text files under `root` (or in `files`: (relative path, text) pairs)."""
    rows = re.compile(rf"Component\(\"({'|'.join(part.rows)})\"") if part.rows else None
    # What names the part: its `names`, and any of its paths a reader could follow (a file, or a
    # folder below the root: "docs/performance.md", not "bench", a word prose uses as well), in
    # any case. The paths are looked for as lowercase text in lowercased text: a third of the
    # time of the same paths as alternatives of one case-insensitive pattern.
    names = None if markers_only or not part.names else re.compile(part.names, re.IGNORECASE)
    followed = [] if markers_only else [p.lower() for p in part.paths if "/" in p or "." in p]
    for relative, text in text_files(root) if files is None else files:
        # Each pattern and path is tried on the lines of a file it is in at all (most: none).
        patterns = [p for p in (rows, names) if p is not None and p.search(text)]
        lowered = text.lower() if followed else ""
        paths = [path for path in followed if path in lowered]
        if not patterns and not paths and "part:" not in text:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            marker = "part:" in line and (
                BEGIN.match(line) or END.match(line) or INLINE.match(line)
            )
            if (
                (marker and marker["name"] == part.name)
                or any(p.search(line) for p in patterns)
                or (paths and any(path in line.lower() for path in paths))
            ):
                yield f"{relative}:{number}: {line.strip()}"


def prune(names: Iterable[str], root: Path = ROOT, echo: Echo = print) -> None:
    """Cut the parts `names` (and those that go with them), then regenerate."""
    parts = [part for part in closure(names) if _announce(part, root, echo)]
    if not parts:
        return
    for part in parts:
        for path in part.paths:
            _delete(root / path)
    changed = []
    for relative, text, edited in cut_files(parts, text_files(root)):
        if edited != text:
            (root / relative).write_text(edited)
            changed.append(relative)
    tidy(root, [root / relative for relative in changed if relative.suffix == ".py"])
    if Path("pyproject.toml") in changed:
        relock(root)
    regenerate(root)
    for part in parts:
        echo(f"pruned {part.name}")


def _announce(part: Removable, root: Path, echo: Echo) -> bool:
    if is_present(part, root):
        return True
    echo(f"{part.name}: not present, nothing to do")
    return False


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def cut_files(
    parts: list[Removable], files: Iterable[tuple[Path, str]]
) -> Iterator[tuple[Path, str, str]]:
    """(relative path, text, text without the parts' fenced lines and table rows) for each of
    `files` that is not one of the parts' paths (those go whole)."""
    rows = [row for part in parts for row in part.rows]
    cutting = {part.name for part in parts} | set(rows)
    gone = [path for part in parts for path in part.paths]
    for relative, text in files:
        name = relative.as_posix()
        if any(name == path or name.startswith(f"{path}/") for path in gone):
            continue
        edited = cut(text, cutting)
        if rows and name == "core/components.py":
            edited = _without_rows(edited, rows)
        yield relative, text, edited


def _without_rows(text: str, rows: list[str]) -> str:
    row = re.compile(rf"^\s*Component\(\"({'|'.join(rows)})\".*\n", re.MULTILINE)
    return row.sub("", text)


def tidy(root: Path, python_files: list[Path]) -> None:
    """Imports only the cut lines used go, and the blank lines around a cut block are made
    right again (ruff, from the dev group; a project without it keeps the files as cut)."""
    ruff = Path(sys.executable).parent / "ruff"
    if not python_files or not ruff.exists():
        return
    files = [str(path) for path in python_files]
    fix = [str(ruff), "check", "--quiet", "--fix", "--select", "F401,I001", *files]
    subprocess.run(fix, cwd=root, check=False, capture_output=True)
    subprocess.run([str(ruff), "format", "--quiet", *files], cwd=root, check=True)


def relock(root: Path) -> None:
    """uv.lock without the dependencies the cut took (uv: on the PATH, or the bootstrap's)."""
    uv = shutil.which("uv") or str(root / ".tools" / "uv" / "bin" / "uv")
    subprocess.run([uv, "lock", "--quiet"], cwd=root, check=True)


def regenerate(root: Path) -> None:
    """`dev generate --remove-orphans` in a fresh process: it reads the table as now cut."""
    subprocess.run(
        [sys.executable, "-m", "scripts.dev", "generate", "--remove-orphans"], cwd=root, check=True
    )
