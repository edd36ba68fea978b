"""What a bench run leaves: the table it prints, `latest.json`, and an SVG bar chart."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from bench.wrk import Measurement
from core.settings import ROOT

Rounds = Mapping[str, Sequence[Measurement]]
# `make test` writes pytest's JUnit XML report there: the bench reads the suite's time from it.
SUITE_REPORT = ROOT / ".state" / "test" / "junit.xml"


def summarise(rounds: Rounds) -> dict[str, dict[str, Any]]:
    """Per target, its best round (highest requests/s, with that round's latencies) and the ratio
    of that rate to the baseline's best; every round is kept under `rounds`."""
    best = {name: max(runs, key=lambda run: run.rps) for name, runs in rounds.items()}
    baseline = best["baseline"].rps
    return {
        name: {
            "rps": round(run.rps, 1),
            "p50_ms": round(run.p50_ms, 3),
            "p99_ms": round(run.p99_ms, 3),
            "ratio": round(run.rps / baseline, 3),
            "rounds": [
                {
                    "rps": round(r.rps, 1),
                    "p50_ms": round(r.p50_ms, 3),
                    "p99_ms": round(r.p99_ms, 3),
                    "requests": r.requests,
                }
                for r in rounds[name]
            ],
        }
        for name, run in best.items()
    }


def compare_with_peers(
    summary: dict[str, dict[str, Any]], endpoints: Iterable[str], peers: Sequence[str]
) -> None:
    """Adds to each endpoint's entry its best requests/s over each peer's best on the same
    endpoint: `vs_peer`, `vs_peer_quiet` (the peers' entries are named "peer list" ...)."""
    for name in endpoints:
        for peer in peers:
            ratio = summary[name]["rps"] / summary[f"{peer} {name}"]["rps"]
            summary[name][f"vs_{peer}"] = round(ratio, 3)


def tracing_cost(
    summary: Mapping[str, dict[str, Any]], endpoints: Iterable[str], traced: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Each traced target's best requests/s over the untraced api's on the same endpoint, same
    run: `{"traced greeting": {"sample_ratio": "1.0", "vs_off": 0.9, ...}}`."""
    costs = {}
    for name in endpoints:
        for label, ratio in traced.items():
            target = f"{label} {name}"
            costs[target] = {"sample_ratio": ratio, **_versus(summary, target, name, "vs_off")}
    return costs


def server_ab(
    summary: Mapping[str, dict[str, Any]], endpoints: Iterable[str], other: str
) -> dict[str, dict[str, Any]]:
    """The api under the other server's best requests/s over the api's, same endpoint, same run:
    `{"uvicorn greeting": {"vs_api": 0.95, "rps": ...}}`."""
    return {
        f"{other} {name}": _versus(summary, f"{other} {name}", name, "vs_api") for name in endpoints
    }


def _versus(
    summary: Mapping[str, dict[str, Any]], target: str, base: str, key: str
) -> dict[str, Any]:
    """`target`'s best requests/s over `base`'s (as `key`), with its rate and latencies."""
    entry = summary[target]
    return {
        key: round(entry["rps"] / summary[base]["rps"], 3),
        "rps": entry["rps"],
        "p50_ms": entry["p50_ms"],
        "p99_ms": entry["p99_ms"],
    }


def by_peer(summary: Mapping[str, dict[str, Any]], peers: Sequence[str]) -> dict[str, Any]:
    """The JSON's shape: the baseline and our endpoints by name, each peer's under its name."""
    document: dict[str, Any] = {name: entry for name, entry in summary.items() if " " not in name}
    for peer in peers:
        prefix = f"{peer} "
        document[peer] = {
            name.removeprefix(prefix): entry
            for name, entry in summary.items()
            if name.startswith(prefix)
        }
    return document


def table(summary: Mapping[str, Mapping[str, Any]], paths: Mapping[str, str]) -> str:
    """A Markdown table, so that a run can be pasted into docs/performance.md as it is."""
    lines = [
        "| target | path | requests/s | p50 ms | p99 ms | ratio to baseline | vs peer "
        "| vs peer without access log |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, entry in summary.items():
        versus = [f"{entry[key]:.2f}" if key in entry else "" for key in VERSUS]
        lines.append(
            f"| {name} | `{paths[name]}` | {entry['rps']:,.0f} | {entry['p50_ms']:.2f} "
            f"| {entry['p99_ms']:.2f} | {entry['ratio']:.2f} | {' | '.join(versus)} |"
        )
    return "\n".join(lines)


VERSUS = ("vs_peer", "vs_peer_quiet")


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(document, indent=2) + "\n")
    staging.replace(path)


def last_suite_run(path: Path = SUITE_REPORT) -> dict[str, Any] | str:
    """The test suite's time, from the JUnit XML report of the last `make test` if it was green
    (the bench does not run the suite: minutes)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        root = None
    suite = root if root is None or root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return "no run of make test recorded yet: run make test"
    counts = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    if counts["failures"] or counts["errors"]:
        return f"the last make test was not green ({counts}): run it again"
    return {
        "seconds": round(float(suite.get("time", "0")), 1),
        "passed": counts["tests"] - counts["skipped"],
        "date": suite.get("timestamp", ""),
    }


BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH, TOP = 28, 14, 90, 420, 44


def chart(summary: Mapping[str, Mapping[str, Any]], title: str) -> str:
    """A horizontal bar per target: requests/s, labelled with the ratio to the baseline and p99."""
    top_rate = max(entry["rps"] for entry in summary.values()) or 1.0
    height = TOP + len(summary) * (BAR_HEIGHT + GAP) + 10
    width = LABEL_WIDTH + BAR_WIDTH + 250
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (name, entry) in enumerate(summary.items()):
        y = TOP + index * (BAR_HEIGHT + GAP)
        bar = max(1.0, BAR_WIDTH * entry["rps"] / top_rate)
        colour = "#888888" if name == "baseline" else "#d8893b" if " " in name else "#3b7dd8"
        label = f"{entry['rps']:,.0f} req/s  ×{entry['ratio']:.2f}  p99 {entry['p99_ms']:.1f} ms"
        parts += [
            f'<text x="10" y="{y + 19}">{escape(name)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"/>',
            f'<text x="{LABEL_WIDTH + bar + 8:.1f}" y="{y + 19}">{escape(label)}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
