"""Tracing: OpenTelemetry's tracer provider and the instrumentations of what a request touches
(asyncpg, which both the ORM and the aiosql path go through, so one span a query; Celery's publish
and run; Redis commands, the app's and Celery's publishes and results), set up inside each
process that does the work: the api's factory, each Celery worker child (`worker_process_init`)
and beat. `opentelemetry-instrument`
would set them up in the parent of the api's reloader and of Celery's prefork pool, whose
children then export nothing.

Off (TRACING unset and no OTLP endpoint), nothing here runs and nothing of the SDK is imported:
the request path is the same as without tracing. The exporter is OTLP/HTTP; the SDK reads the
standard OTEL_* variables itself (endpoint, headers, timeout, batch sizes, OTEL_SERVICE_NAME).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from core.records import ContextFilter
from core.settings import Settings

# The provider this process set up, and the pid it was set up in (a forked child sets its own).
_state: dict[str, Any] = {}


def setup_tracing(component: str, settings: Settings, sampled_at_edge: bool = False) -> bool:
    """Sets up the global tracer provider (batching to OTLP/HTTP) and the instrumentations, once
    per process; whether tracing is on. A provider set up before (a test's, a vendor's) is kept
    and instrumented. `sampled_at_edge`: the component decides which new traces to keep before
    it starts them (the api: app.sampling), so every root span it starts is kept."""
    if not settings.tracing:
        return False
    if _state.get("pid") == os.getpid():
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor  # part: background
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(
            # The component names the service; OTEL_RESOURCE_ATTRIBUTES may add to it.
            resource=Resource.create({SERVICE_NAME: component}),
            sampler=ParentBased(
                ALWAYS_ON if sampled_at_edge else TraceIdRatioBased(settings.tracing_sample_ratio)
            ),
            shutdown_on_exit=True,
        )
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    # Redis: every client's commands. The worker's broker polls (BRPOP) are sent past the
    # instrumented call, and its consumer runs in the parent, which is not instrumented.
    instrumentors = (
        AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
        CeleryInstrumentor(),  # type: ignore[no-untyped-call]  # part: background
        RedisInstrumentor(),
    )
    for instrumentor in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    _state.update(pid=os.getpid(), provider=provider)
    return True


# What setup_tracing imports: a server that forks its workers (granian) imports them first.
MODULES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.http.transport._requests",
    "requests",  # which the exporter's transport imports only when it is made
    "opentelemetry.instrumentation.asyncpg",
    "opentelemetry.instrumentation.celery",  # part: background
    "opentelemetry.instrumentation.redis",
)


def import_before_fork(settings: Settings) -> None:
    """Imports the SDK, the exporter and the instrumentations, when tracing is on, in a process
    about to fork the ones that set tracing up: each child finds them loaded, instead of
    importing them itself (a second or more each under load) right after a fork, while an
    import another thread of the parent had under way at the fork could still hold its lock."""
    if settings.tracing:
        for name in MODULES:
            importlib.import_module(name)


def flush_tracing(timeout_millis: int = 10_000) -> None:
    """Exports the spans still queued: before a process exits without running atexit (a Celery
    prefork child does, with os._exit)."""
    provider = _state.get("provider")
    if provider is not None and _state.get("pid") == os.getpid():
        provider.force_flush(timeout_millis)


class SpanContextFilter(ContextFilter):
    """A ContextFilter that also puts the current span's `trace_id` and `span_id` (hex, as OTLP
    shows them) on each record made inside a sampled span. Installed only when tracing is on."""

    def __init__(self, variables: Mapping[str, ContextVar[Any]]) -> None:
        super().__init__(variables)
        from opentelemetry.trace import get_current_span

        self._current_span = get_current_span

    def add_to(self, fields: dict[str, Any]) -> None:
        super().add_to(fields)
        context = self._current_span().get_span_context()
        if context.trace_flags.sampled and "trace_id" not in fields:
            fields["trace_id"] = f"{context.trace_id:032x}"
            fields["span_id"] = f"{context.span_id:016x}"
