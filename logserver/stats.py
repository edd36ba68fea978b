"""`logserver stats`: per route, the request count, duration percentiles and status classes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from logserver.reader import Record

PERCENTILES = (50, 95, 99)
CLASSES = ("2xx", "3xx", "4xx", "5xx")


@dataclass
class RouteStats:
    durations: list[float] = field(default_factory=list)
    classes: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return sum(self.classes.values())

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the durations, in ms."""
        ordered = sorted(self.durations)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def route_stats(records: Iterable[Record]) -> dict[str, RouteStats]:
    """Access records grouped by `METHOD route-template` (the path when no route matched)."""
    table: dict[str, RouteStats] = {}
    for doc in records:
        status = doc.get("status")
        if not isinstance(status, int):
            continue
        route = f"{doc.get('method', '-')} {doc.get('route') or doc.get('path') or '-'}"
        stats = table.setdefault(route, RouteStats())
        stats.classes[f"{status // 100}xx"] += 1
        duration = doc.get("duration_ms")
        if isinstance(duration, int | float):
            stats.durations.append(float(duration))
    return table


def render_stats(table: dict[str, RouteStats]) -> str:
    if not table:
        return "no access records"
    width = max(len("route"), *map(len, table))
    heads = ["count", *(f"p{p} ms" for p in PERCENTILES), *CLASSES]
    lines = [f"{'route':<{width}}  " + "  ".join(f"{h:>8}" for h in heads)]
    for route, stats in sorted(table.items(), key=lambda item: (-item[1].count, item[0])):
        cells = [
            str(stats.count),
            *(f"{stats.percentile(p):.1f}" for p in PERCENTILES),
            *(str(stats.classes[c]) for c in CLASSES),
        ]
        lines.append(f"{route:<{width}}  " + "  ".join(f"{c:>8}" for c in cells))
    return "\n".join(lines)
