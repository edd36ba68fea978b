"""The log server's OTLP/HTTP receiver, on its own TCP port: spans from the official SDK's
exporter (protobuf) and OTLP/JSON, logs, bad requests, the token, and a restart of the receiver
while an exporter sends."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import httpx2 as httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)

from logserver.reader import records
from logserver.tail import RecordFilter
from tests.support.logserver import InProcessLogServer, LogServerProcess

TRACE_ID = "5b8efff798038103d269b633813fc60c"
JSON_SPANS = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "go"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "net/http"},
                    "spans": [
                        {
                            "traceId": TRACE_ID,
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "eee19b7ec3c1b173",
                            "name": "GET /x",
                            "kind": 2,
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": "1544712660250000000",
                            "attributes": [{"key": "http.status", "value": {"intValue": "200"}}],
                            "status": {"code": 2, "message": "boom"},
                        }
                    ],
                }
            ],
        }
    ]
}
JSON_LOGS = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "go"}}]},
            "scopeLogs": [
                {
                    "scope": {"name": "app"},
                    "logRecords": [
                        {
                            "timeUnixNano": "1544712660100000000",
                            "severityText": "WARN",
                            "body": {"stringValue": "slow upstream"},
                            "traceId": TRACE_ID,
                            "spanId": "eee19b7ec3c1b174",
                        }
                    ],
                }
            ],
        }
    ]
}


def _provider(endpoint: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "probe"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def test_spans_and_logs_in_protobuf_and_json_are_stored(tmp_path: Path) -> None:
    with InProcessLogServer(tmp_path / "logs") as server:
        url = f"http://127.0.0.1:{server.port}"
        provider = _provider(f"{url}/v1/traces")
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("outer", attributes={"n": 1, "tags": ["a", "b"]}):
            with tracer.start_as_current_span("inner") as inner:
                ids = inner.get_span_context()
        provider.shutdown()
        with httpx.Client(base_url=url) as http:
            for path, body in (("/v1/traces", JSON_SPANS), ("/v1/logs", JSON_LOGS)):
                answer = http.post(path, json=body)
                assert (answer.status_code, answer.json()) == (200, {})
        server.stop()

    spans = {doc["name"]: doc for doc in records(tmp_path / "logs", ["spans"])}
    assert set(spans) == {"outer", "inner", "GET /x"}
    outer, inner_doc = spans["outer"], spans["inner"]
    assert inner_doc["trace_id"] == f"{ids.trace_id:032x}" == outer["trace_id"]
    assert (inner_doc["span_id"], inner_doc["parent_id"]) == (
        f"{ids.span_id:016x}",
        outer["span_id"],
    )
    assert (outer["component"], outer["kind"], outer["attributes"]) == (
        "probe",
        "internal",
        {"n": 1, "tags": ["a", "b"]},
    )
    sent = spans["GET /x"]
    assert (sent["component"], sent["kind"], sent["status"], sent["duration_ms"]) == (
        "go",
        "server",
        "error",
        250.0,
    )
    assert sent["attributes"] == {"http.status": 200}
    (log,) = records(tmp_path / "logs", ["otlp"])
    assert (log["level"], log["message"], log["trace_id"]) == ("WARN", "slow upstream", TRACE_ID)
    assert RecordFilter(trace_id=TRACE_ID).matches(log)


def test_bad_requests_get_one_clear_answer_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with (
        InProcessLogServer(tmp_path / "logs") as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http,
    ):
        not_json = http.post(
            "/v1/traces", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 400 and "not JSON" in not_json.text
        not_proto = http.post(
            "/v1/traces", content=b"\xff\xff", headers={"content-type": "application/x-protobuf"}
        )
        assert not_proto.status_code == 400 and "protobuf" in not_proto.text
        assert http.post("/v1/metrics", json={}).status_code == 404
        assert http.get("/v1/traces").status_code == 405
        # The same connection (keep-alive) still takes a good request.
        assert http.post("/v1/traces", json=JSON_SPANS).status_code == 200
        assert server.answers()  # and the JSON-lines protocol on the same port
    assert [doc["name"] for doc in records(tmp_path / "logs", ["spans"])] == ["GET /x"]


def test_with_a_token_a_request_needs_it_as_a_bearer(tmp_path: Path) -> None:
    with InProcessLogServer(tmp_path / "logs", token="s3cret") as server:
        url = f"http://127.0.0.1:{server.port}/v1/traces"
        assert httpx.post(url, json=JSON_SPANS).status_code == 401
        bearer = {"authorization": "Bearer s3cret"}
        assert httpx.post(url, json=JSON_SPANS, headers=bearer).status_code == 200


class WatchedExporter(OTLPSpanExporter):
    """The SDK's exporter, saying when it starts exporting (the receiver is down by then)."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint=endpoint, timeout=120)
        self.exporting = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exporting.set()
        return super().export(spans)


def test_an_sdk_exporter_loses_nothing_across_a_receiver_restart(tmp_path: Path) -> None:
    server = LogServerProcess(tmp_path / "logs", tmp_path)
    with server:
        exporter = WatchedExporter(f"http://127.0.0.1:{server.port}/v1/traces")
        provider = TracerProvider(resource=Resource.create({"service.name": "probe"}))
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=3_600_000))
        tracer = provider.get_tracer("test")
        sent = [_span_id(tracer, f"before-{n}") for n in range(50)]
        assert provider.force_flush(60_000)
        assert server.stop() == 0
        exporter.exporting.clear()
        sent += [_span_id(tracer, f"while-down-{n}") for n in range(50)]
        flushed: list[bool] = []
        flush = threading.Thread(target=lambda: flushed.append(provider.force_flush(120_000)))
        flush.start()
        assert exporter.exporting.wait(60)  # it tries, finds nobody, and retries with backoff
        server.start()
        flush.join(150)
        assert flushed == [True]
        sent += [_span_id(tracer, f"after-{n}") for n in range(50)]
        provider.shutdown()
        server.stop()
    stored = [doc["span_id"] for doc in records(tmp_path / "logs", ["spans"])]
    assert sorted(set(stored)) == sorted(sent)


def _span_id(tracer: object, name: str) -> str:
    with tracer.start_as_current_span(name) as span:  # type: ignore[attr-defined]
        return f"{span.get_span_context().span_id:016x}"
