"""Sampling at the api's edge (app.sampling): what tracing samples out skips FastAPI's telemetry
and its children are dropped; what it keeps is traced as before; a parent's flag decides."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.fresh import run_fresh, spans_in_memory
from tests.support.groups import FRESH
from tests.support.processes import free_port

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{}"
Span = dict[str, Any]  # trace, parent, name; or recording, trace


def spans_by_case() -> dict[str, list[Span]]:
    """In a fresh process (tests.support.fresh): the in-memory provider is set before any app
    exists (so the app keeps it), then one app per sampling ratio serves greetings; each case's
    spans (trace id, parent span id, name)."""
    import asyncio

    from fastapi.testclient import TestClient
    from opentelemetry import trace

    from app.main import create_app
    from app.sampling import EdgeSampler, SampledOutMiddleware
    from core.settings import get_settings

    exporter = spans_in_memory()

    def spans() -> list[Span]:
        found: list[Span] = [
            {
                "trace": f"{s.context.trace_id:032x}",
                "parent": s.parent and f"{s.parent.span_id:016x}",
                "name": s.name,
            }
            for s in exporter.get_finished_spans()
            if s.context is not None
        ]
        exporter.clear()
        return found

    def case(ratio: str, requests: int, flags: str | None = None) -> list[Span]:
        os.environ["TRACING_SAMPLE_RATIO"] = ratio
        get_settings.cache_clear()
        headers = {"traceparent": PARENT.format(flags)} if flags else {}
        with TestClient(create_app()) as client:
            for _ in range(requests):
                assert client.get("/api/v1/user/greeting", headers=headers).status_code == 200
        return spans()

    async def children(flags: str | None) -> list[Span]:
        # What code inside a request starts (asyncpg, Redis, a publish), under the middleware.
        seen: list[Span] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            with trace.get_tracer("t").start_as_current_span("child") as span:
                context = span.get_span_context()
                seen.append({"recording": span.is_recording(), "trace": f"{context.trace_id:032x}"})

        async def receive() -> dict[str, Any]:
            raise AssertionError("nothing reads the request here")

        async def send(message: MutableMapping[str, Any]) -> None:
            raise AssertionError("nothing answers here")

        headers = [(b"traceparent", PARENT.format(flags).encode())] if flags else []
        scope = {"type": "http", "headers": headers}
        assert EdgeSampler(0.0).sampled_out(scope)
        await SampledOutMiddleware(inner)(scope, receive, send)
        return seen

    return {
        "0.0": case("0.0", 10),
        "0.0 parent sampled": case("0.0", 1, "01"),
        "1.0 parent not sampled": case("1.0", 10, "00"),
        "1.0": case("1.0", 20),
        "0.5": case("0.5", 100),
        "children": asyncio.run(children(None)),
        "children parent not sampled": asyncio.run(children("00")),
    }


@pytest.mark.fast
@FRESH
def test_the_api_samples_at_its_edge(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TRACING": "true",
        "LOGSERVER_ENABLED": "false",  # part: logserver
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
    }
    cases, _ = run_fresh(spans_by_case, env=env, stderr=tmp_path / "stderr")

    def traces(case: str) -> set[str]:
        return {span["trace"] for span in cases[case]}

    assert cases["0.0"] == []  # nothing started, nothing exported
    assert cases["1.0 parent not sampled"] == []  # the caller's decision wins over the ratio
    # The caller's sampled trace is continued whatever the ratio: the server span is the
    # child of the caller's span, in its trace.
    assert traces("0.0 parent sampled") == {"0af7651916cd43dd8448eb211c80319c"}
    assert "b7ad6b7169203331" in {span["parent"] for span in cases["0.0 parent sampled"]}
    assert len(traces("1.0")) == 20  # one trace per request, every one kept
    assert {span["parent"] for span in cases["1.0"] if span["name"].startswith("GET")} == {None}
    assert 30 <= len(traces("0.5")) <= 70, len(traces("0.5"))  # 50 expected, sd 5
    # Inside a sampled-out request, a span started is not recorded: in a new trace of its own
    # without a parent, in the caller's trace with one.
    [child] = cases["children"]
    assert child["recording"] is False and child["trace"] != "0" * 32
    assert cases["children parent not sampled"] == [
        {"recording": False, "trace": "0af7651916cd43dd8448eb211c80319c"}
    ]
