"""The app's own OpenAPI drives a generative test: schemathesis generates valid and invalid
inputs for every operation and sends them to a real server on real Postgres and Redis. No answer
may be a 5xx, and every answer must be one the schema documents, in the shape it documents.

The run is bounded (API_FUZZ_EXAMPLES per operation and mode) and seeded: the seed is in the
report header, and API_FUZZ_SEED=<seed> replays a run.
"""

from __future__ import annotations

import re
from typing import Any

import requests
import schemathesis
from fastapi.routing import APIRoute
from hypothesis.strategies import emails
from pydantic import TypeAdapter, ValidationError

from app.api.router import API_PREFIX, ROUTERS
from app.api.routes import health
from app.main import create_app
from app.schemas.user import Email
from core.settings import load_settings
from tests.support.fuzz import EXAMPLES, REPLAY, SEED


def _accepted_email(address: str) -> bool:
    try:
        EMAIL.validate_python(address)
    except ValidationError:
        return False
    return True


EMAIL = TypeAdapter(Email)
# `format: email` means what email-validator takes, as the field's description says; JSON
# Schema's own is wider (it takes the special-use domains, `.test` and the like).
schemathesis.openapi.format("email", emails().filter(_accepted_email))

# The schema as the app builds it (no I/O); the cases it generates go to the served app.
DOCUMENT = create_app(
    load_settings(
        environment="test",
        logserver_enabled=False,  # part: logserver
    )
).openapi()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {"seed": SEED, "generation": {"mode": "all", "max-examples": EXAMPLES}}
    ),
)


@schema.parametrize()
def test_every_operation_keeps_to_its_schema(case: schemathesis.Case[Any], served_api: str) -> None:
    try:
        case.call_and_validate(base_url=served_api)
    except Exception as failure:
        failure.add_note(REPLAY)
        raise


def test_every_route_is_an_operation_of_the_schema(served_api: str) -> None:
    """So the test above drives every route the app has."""
    document = requests.get(f"{served_api}/openapi.json", timeout=10).json()
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = [("", route) for route in health.router.routes]
    routes += [(API_PREFIX, route) for router in ROUTERS for route in router.routes]
    for prefix, route in routes:
        assert isinstance(route, APIRoute) and route.include_in_schema, route
        path = prefix + re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # convertors
        for method in route.methods or ():
            assert (path, method) in documented, (path, method)
