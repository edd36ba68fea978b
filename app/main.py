"""The FastAPI application: the factory and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Scope

from app.api.router import API_PREFIX, ROUTERS
from app.api.routes import health
from app.body_limit import BodyLimitMiddleware
from app.errors import install_error_handlers
from app.middleware import AccessLogMiddleware
from app.openapi import publish_integer_bounds
from app.resources import open_resources
from core.logging import PROBE_PATHS, configure_logging
from core.settings import Settings, get_settings
from core.tracing import setup_tracing


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_resources(app.state.settings) as resources:
        app.state.resources = resources
        # What exists by now (modules, routes, clients) lives as long as the app: frozen, the
        # garbage collector stops rescanning it. Under load those rescans took ~6% of the
        # server's CPU, in pauses of up to 50 ms.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()


def edge_sampling(settings: Settings) -> Callable[[Scope], bool]:
    """The decision, per request, to leave it out of tracing (app.sampling, imported only now:
    with tracing off nothing of the SDK is)."""
    from app.sampling import EdgeSampler

    return EdgeSampler(settings.tracing_sample_ratio).sampled_out


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Set up here, in the process that serves (each worker of the server, each reload).
    tracing = setup_tracing("api", settings, sampled_at_edge=True)
    telemetry = settings.api_telemetry
    sampled_out = edge_sampling(settings) if tracing else None
    docs = settings.api_docs  # off in production unless API_DOCS=true
    app = FastAPI(
        title="FastAPI stack",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        # operationId is the handler's name (`create_user`), which the OpenAPI links refer to
        # and generated clients name their methods after.
        generate_unique_id_function=lambda route: route.name,
        telemetry={
            "tracing": tracing or telemetry,
            "metrics": telemetry,
            "logs": telemetry,
            # process-compose's and the orchestrators' probes, every second: no trace each; nor
            # a request that tracing samples out (app.sampling).
            "exclude": lambda scope: (
                scope.get("path") in PROBE_PATHS or (sampled_out is not None and sampled_out(scope))
            ),
        },
    )
    publish_integer_bounds(app)
    app.state.settings = settings
    configure_logging("api", app.state.settings)
    # Added first, so it runs inside the access log: a refused body is logged like any request.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    if sampled_out is not None:  # outermost: the access record is made in the request's context
        from app.sampling import SampledOutMiddleware

        app.add_middleware(SampledOutMiddleware)
    install_error_handlers(app)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app
