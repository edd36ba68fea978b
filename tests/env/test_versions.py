"""The environment definitions agree on the pinned versions, and a drift in any one of them
fails naming its file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.env import pins
from tests.env.tools import ROOT

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def test_every_environment_states_the_same_versions() -> None:
    found = pins.statements(ROOT)
    assert pins.disagreements(found) == []
    stated = {(statement.file, statement.pin) for statement in found}
    for source in pins.SOURCES:
        if source.required:
            assert (source.file, source.pin) in stated


@pytest.mark.parametrize("pin", ["python", "process-compose"])
def test_my_definitions_state_each_version_in_one_place(pin: str) -> None:
    """Besides its one statement, a pinned value is not spelled out again in the same file
    (checked for the pins long enough to search for; a bare major such as 7 is not)."""
    value = next(s.value for s in pins.statements(ROOT) if s.pin == pin and s.file == "Dockerfile")
    files = ["Dockerfile", "compose.yaml"]
    files.append("flake.nix")  # part: flake
    files.append(".devcontainer/devcontainer.json")  # part: devcontainer
    for file in files:
        text = (ROOT / file).read_text()
        count = len(re.findall(rf"(?<![\w.]){re.escape(value)}(?![\w])", text))
        assert count <= 1, f"{file} spells {pins.PINS[pin]} {value} {count} times"


def _copy_definitions(destination: Path) -> None:
    for file in {source.file for source in pins.SOURCES}:
        if (ROOT / file).exists():
            (destination / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / file, destination / file)


def _drift(root: Path, source: pins.Source) -> None:
    """Changes the version that `source` reads, in the copy under `root`."""
    path = root / source.file
    text = path.read_text()
    match = re.search(source.pattern, text, re.MULTILINE)
    assert match is not None
    start, end = match.span(1)
    path.write_text(text[:start] + pins.bumped(match[1]) + text[end:])


@pytest.mark.parametrize(
    "source",
    [s for s in pins.SOURCES if (ROOT / s.file).exists() and pins.read(ROOT, s) is not None],
    ids=lambda s: f"{s.file}:{s.pin}:{s.pattern[:24]}",
)
def test_a_changed_version_fails_naming_its_file(source: pins.Source, scratch: Path) -> None:
    _copy_definitions(scratch)
    _drift(scratch, source)
    try:
        problems = pins.disagreements(pins.statements(scratch))
    except pins.PinError as error:
        problems = [str(error)]
    assert problems, f"a changed {pins.PINS[source.pin]} in {source.file} went unnoticed"
    stated = [s for s in pins.statements(ROOT) if s.pin == source.pin]
    if len({s.file for s in stated}) >= 3:  # with two files (a pruned project) none is the odd one
        assert all(problem.startswith(source.file) for problem in problems), problems


def test_a_file_that_states_a_version_twice_is_named(scratch: Path) -> None:
    _copy_definitions(scratch)
    dockerfile = scratch / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\nARG PYTHON_MINOR=3.11\n")
    with pytest.raises(pins.PinError, match=r"^Dockerfile: states the Python minor 2 times"):
        pins.statements(scratch)
