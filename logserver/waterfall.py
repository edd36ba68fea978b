"""`logserver trace`: one trace's spans (the `spans` stream, from OTLP) as a waterfall, with the
log records made inside each span under it.

    trace 4bf92f3577b34da6a3ce929d0e0e4736 (request 5f0c...), 9 spans, 14.21 ms
      start  duration  component  span
       0.00  14.21 ms  api        POST /api/v1/tasks/user_report  |##########################|
       0.41   0.88 ms  api          INSERT users  ...             | #                        |
           17:32:27.842 INFO    api       app.services: ...
       ...

Offsets are milliseconds from the trace's first span; a span at or over `slow_ms` is marked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.console import DIM, component_colour, paint, render
from logserver.otlp import SPANS_STREAM
from logserver.reader import Record

BAR_WIDTH = 30
LABEL_WIDTH = 48  # the span's name, indented, cut there
SLOW_MARK = "SLOW"
SLOW_COLOUR = "\x1b[1;31m"
QUERY_KEYS = ("db.query.text", "db.statement", "db.operation.name", "db.operation")


@dataclass
class Trace:
    trace_id: str
    spans: dict[str, Record] = field(default_factory=dict)  # by span id, resent ones once
    logs: dict[str | None, list[Record]] = field(default_factory=lambda: defaultdict(list))
    request_id: str | None = None

    def add(self, doc: Record) -> None:
        if doc.get("stream") == SPANS_STREAM:
            self.spans.setdefault(str(doc.get("span_id")), doc)
        else:
            self.logs[doc.get("span_id")].append(doc)
            self.request_id = self.request_id or doc.get("request_id")


def find_trace(docs: Iterable[Record], wanted: str) -> Trace | None:
    """The trace whose id, or the id of a request in which, is `wanted` (None if neither is
    stored). Reads `docs` (every stored record) once."""
    by_trace: dict[str, Trace] = {}
    for_request: str | None = None
    for doc in docs:
        trace_id = doc.get("trace_id")
        if not isinstance(trace_id, str):
            continue
        if for_request is None and doc.get("request_id") == wanted:
            for_request = trace_id
        trace = by_trace.get(trace_id)
        if trace is None:
            trace = by_trace[trace_id] = Trace(trace_id)
        trace.add(doc)
    chosen = by_trace.get(wanted.lower()) or (by_trace.get(for_request) if for_request else None)
    if chosen is None:  # the short id of the access line
        prefixed = [trace for key, trace in by_trace.items() if key.startswith(wanted.lower())]
        chosen = prefixed[0] if len(prefixed) == 1 else None
    return chosen if chosen is not None and chosen.spans else None


def render_waterfall(trace: Trace, slow_ms: float = 100.0, colour: bool = False) -> str:
    spans = sorted(trace.spans.values(), key=lambda span: span.get("start_ns", 0))
    start = min(span.get("start_ns", 0) for span in spans)
    end = max(span.get("end_ns", 0) for span in spans)
    total_ms = max((end - start) / 1e6, 0.001)
    request = f" (request {trace.request_id})" if trace.request_id else ""
    lines = [
        f"trace {trace.trace_id}{request}, {len(spans)} spans, {total_ms:.2f} ms",
        paint(DIM, "   start   duration  component  span", colour),
    ]
    for depth, span in _tree(spans):
        lines.append(_span_line(span, depth, start, total_ms, slow_ms, colour))
        for doc in trace.logs.get(span.get("span_id"), ()):
            lines.append(" " * (23 + 2 * depth) + render(doc, colour).replace("\n", "\n    "))
    stray = trace.logs.get(None, [])
    if stray:
        lines.append("records of the trace outside any span:")
        lines.extend("    " + render(doc, colour) for doc in stray)
    return "\n".join(lines)


def _tree(spans: list[Record]) -> list[tuple[int, Record]]:
    """Spans depth first, children by start time; one whose parent is not stored is a root."""
    ids = {span.get("span_id") for span in spans}
    children: dict[Any, list[Record]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_id")
        children[parent if parent in ids else None].append(span)
    ordered: list[tuple[int, Record]] = []

    def visit(parent: Any, depth: int) -> None:
        for span in children.get(parent, ()):
            ordered.append((depth, span))
            visit(span.get("span_id"), depth + 1)

    visit(None, 0)
    return ordered


def _span_line(
    span: Record, depth: int, start: int, total_ms: float, slow_ms: float, colour: bool
) -> str:
    offset = (span.get("start_ns", 0) - start) / 1e6
    duration = float(span.get("duration_ms") or 0.0)
    component = str(span.get("component", "-"))
    label = "  " * depth + _label(span)
    slow = duration >= slow_ms
    mark = " " + paint(SLOW_COLOUR, SLOW_MARK, colour) if slow else ""
    error = " " + paint(SLOW_COLOUR, "ERROR", colour) if span.get("status") == "error" else ""
    return (
        f"{offset:8.2f} {duration:8.2f} ms  "
        f"{paint(component_colour(component), f'{component:<9}', colour)}  "
        f"{label[:LABEL_WIDTH]:<{LABEL_WIDTH}} {_bar(offset, duration, total_ms)}{mark}{error}"
    )


def _label(span: Record) -> str:
    name = str(span.get("name", "-"))
    attributes = span.get("attributes") or {}
    for key in QUERY_KEYS:
        query = attributes.get(key)
        if isinstance(query, str) and query and query != name:
            return f"{name}: {' '.join(query.split())}"
    return name


def _bar(offset: float, duration: float, total_ms: float) -> str:
    first = min(int(offset / total_ms * BAR_WIDTH), BAR_WIDTH - 1)
    width = max(1, round(duration / total_ms * BAR_WIDTH))
    width = min(width, BAR_WIDTH - first)
    return "|" + " " * first + "#" * width + " " * (BAR_WIDTH - first - width) + "|"
