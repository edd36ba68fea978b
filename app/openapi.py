"""The OpenAPI document as the app publishes it: FastAPI's, with integer bounds as integers.

FastAPI's OpenAPI models hold `minimum`, `maximum` and the rest as floats: `le=150` is published
as `150.0`, and a bound past 2**53 moves (`le=2**63 - 1` becomes 2**63), so a client or a fuzzer
takes values the api refuses. Here a whole float bound is an integer again; a bound past 2**53
must still be one a float holds exactly (`lt=2**63`, not `le=2**63 - 1`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


def publish_integer_bounds(app: FastAPI) -> None:
    """Makes `app.openapi()` (and so /openapi.json) give whole bounds as integers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # built once, then FastAPI's cached copy
        integer_bounds(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def integer_bounds(node: Any) -> None:
    """Turns every whole float bound in a JSON Schema (or a document holding some) into an int."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = int(value)
            else:
                integer_bounds(value)
    elif isinstance(node, list):
        for item in node:
            integer_bounds(item)
