"""The one rule for tests that need a tool the machine may lack (a container engine, buildah,
debootstrap, nix, npm, root ...): such a test belongs to a *tier*, and when the tool is missing
it calls `unavailable(tier, why, how)`.

- On a developer's machine the test is skipped, and the run's last lines name every tier that
  did not run, why, and how to enable it (tests/conftest.py's terminal summary).
- With `CI=true` (which CI sets) or `REQUIRE_ALL_TIERS=1` it fails instead: CI is never green
  without a tier.

A test that skips for any other reason is a defect.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NoReturn

import pytest


@dataclass(frozen=True)
class NotRun:
    tier: str
    why: str
    how: str


# Filled during the run, printed by the terminal summary (one line per tier and reason).
NOT_RUN: dict[tuple[str, str], NotRun] = {}


def required() -> bool:
    """Whether a missing tool fails the run: under CI, or when asked to."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_ALL_TIERS") == "1"


def unavailable(tier: str, why: str, how: str) -> NoReturn:
    """The tier `tier` cannot run here because `why`; `how` says what would enable it."""
    if required():
        pytest.fail(
            f"tier {tier!r} cannot run: {why} (CI=true or REQUIRE_ALL_TIERS=1 makes that a "
            f"failure; to enable it: {how})",
            pytrace=False,
        )
    NOT_RUN.setdefault((tier, why), NotRun(tier, why, how))
    pytest.skip(f"tier {tier!r} not run: {why}")


def require_root(tier: str, what: str) -> None:
    """Tests that create users, start daemons or install packages need root."""
    if os.geteuid() != 0:
        unavailable(tier, f"{what} needs root", "run `make test` as root (CI does)")


def summary_lines() -> list[str]:
    """The run's closing lines: each tier that did not run, why, and how to enable it."""
    if not NOT_RUN:
        return []
    lines = [f"{len({n.tier for n in NOT_RUN.values()})} tier(s) did not run on this machine:"]
    for item in sorted(NOT_RUN.values(), key=lambda n: n.tier):
        lines.append(f"  {item.tier}: {item.why} -- to enable: {item.how}")
    lines.append("(with CI=true or REQUIRE_ALL_TIERS=1 these are failures)")
    return lines
