"""The task arguments' models as the OpenAPI document publishes them. Kept apart from
test_api_contract.py: collecting that module builds schemathesis' strategies (about 17 s), which
`make test-fast` must not pay for one check of the document."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import load_settings
from core.tasks import QUEUEABLE
from tests.support.groups import IMPORTS_THE_APP

pytestmark = [pytest.mark.fast, IMPORTS_THE_APP]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from app.main import create_app  # here: collecting imports no app (tests/support/groups.py)

    settings = load_settings(
        environment="test",
        logserver_enabled=False,  # part: logserver
    )
    return create_app(settings).openapi()


def test_task_arguments_are_published_as_their_models_say(document: dict[str, Any]) -> None:
    """Bounds pass through floats on their way into the document (app/openapi.py): a bound no
    float holds would move, and the fuzzer would send values the api refuses."""
    for task in QUEUEABLE.values():
        if task.arguments.model_fields:
            published = document["components"]["schemas"][task.arguments.__name__]
            assert published["properties"] == task.arguments.model_json_schema()["properties"]
