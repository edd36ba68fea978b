"""Records as JSON: the one document every destination gets (the log server, stderr)."""

from __future__ import annotations

import logging

import orjson
import pytest

from core.records import JsonFormatter, RecordEncoder, StderrHandler


@pytest.mark.fast
def test_the_document_of_fields_is_the_document_of_their_record() -> None:
    encoder = RecordEncoder("tester", "app")
    fields = {"stream": "access", "status": 500, "user_agent": None, "duration_ms": 1.5}
    record = logging.getLogger("tests.fields").makeRecord(
        "tests.fields", logging.ERROR, __file__, 1, "GET %s", ("/y",), None, extra=dict(fields)
    )
    assert encoder.fields_document(
        logging.ERROR, "tests.fields", "GET /y", fields, record.created
    ) == encoder.document(record)


@pytest.mark.fast
def test_json_on_stderr_has_the_same_shape(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.Logger("tests.records")  # outside the global logger tree
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter("tester", "app"))
    logger.addHandler(handler)
    logger.warning("careful: %d", 3, extra={"stream": "audit"})
    doc = orjson.loads(capsys.readouterr().err)
    assert (doc["message"], doc["level"], doc["stream"], doc["component"]) == (
        "careful: 3",
        "WARNING",
        "audit",
        "tester",
    )
