"""OTLP export requests (traces and logs, protobuf or JSON) as the log server's records.

A span becomes one record of the `spans` stream:

    {"stream": "spans", "ts": <start>, "component": <service.name>, "trace_id", "span_id",
     "parent_id", "name", "kind", "start_ns", "end_ns", "duration_ms", "status", "attributes"}

and an OTLP log record one of the `otlp` stream, with `level`, `message`, `trace_id` and
`span_id`, so that `logserver trace` finds both. Protobuf is read into the same dictionaries the
JSON encoding has (camelCase, ids in hex), so one reader serves both.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from logserver.protocol import timestamp

SPANS_STREAM = "spans"
LOGS_STREAM = "otlp"
PATHS = {"/v1/traces": "traces", "/v1/logs": "logs"}
KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"]
STATUSES = ["unset", "ok", "error"]


class BadRequest(ValueError):
    """The body is not an OTLP export request of its content type."""


def records(signal: str, content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The records of an export request to `/v1/<signal>`; BadRequest when it is not one."""
    request = _decode(signal, content_type, body)
    if signal == "traces":
        return list(_spans(request))
    return list(_logs(request))


def empty_response(content_type: str) -> bytes:
    """The body of a full success: an empty Export*ServiceResponse, in the request's encoding."""
    return b"{}" if _is_json(content_type) else b""


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def _decode(signal: str, content_type: str, body: bytes) -> dict[str, Any]:
    if _is_json(content_type):
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise BadRequest(f"not JSON: {error}") from None
        if not isinstance(doc, dict):
            raise BadRequest("not a JSON object")
        return doc
    if content_type.split(";")[0].strip().lower() != "application/x-protobuf":
        raise BadRequest(f"content type {content_type!r}: send application/x-protobuf or json")
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    message = ExportTraceServiceRequest() if signal == "traces" else ExportLogsServiceRequest()
    try:
        message.ParseFromString(body)
    except DecodeError as error:
        raise BadRequest(f"not an OTLP {signal} protobuf: {error}") from None
    decoded: dict[str, Any] = MessageToDict(message)
    return decoded


def _spans(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource, scope, span in _items(request, "resourceSpans", "scopeSpans", "spans"):
        start, end = int(span.get("startTimeUnixNano", 0)), int(span.get("endTimeUnixNano", 0))
        status = span.get("status") or {}
        record = {
            "stream": SPANS_STREAM,
            "ts": _ts(start),
            "component": resource.get("service.name", "-"),
            "trace_id": _id(span.get("traceId")),
            "span_id": _id(span.get("spanId")),
            "parent_id": _id(span.get("parentSpanId")) or None,
            "name": str(span.get("name", "")),
            "kind": _enum(span.get("kind"), KINDS, "SPAN_KIND_"),
            "start_ns": start,
            "end_ns": end,
            "duration_ms": round((end - start) / 1e6, 3),
            "status": _enum(status.get("code"), STATUSES, "STATUS_CODE_"),
            "attributes": _attributes(span.get("attributes")),
            "scope": scope.get("name"),
        }
        if status.get("message"):
            record["status_message"] = status["message"]
        events = [_event(event) for event in span.get("events") or ()]
        if events:
            record["events"] = events
        yield record


def _logs(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource, scope, log in _items(request, "resourceLogs", "scopeLogs", "logRecords"):
        when = int(log.get("timeUnixNano") or log.get("observedTimeUnixNano") or 0)
        body = _value(log.get("body") or {})
        yield {
            "stream": LOGS_STREAM,
            "ts": _ts(when),
            "level": log.get("severityText") or "-",
            "logger": scope.get("name"),
            "component": resource.get("service.name", "-"),
            "message": body if isinstance(body, str) else orjson.dumps(body).decode(),
            "trace_id": _id(log.get("traceId")) or None,
            "span_id": _id(log.get("spanId")) or None,
            "attributes": _attributes(log.get("attributes")),
        }


def _items(
    request: dict[str, Any], outer: str, middle: str, inner: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    for group in _list(request.get(outer)):
        resource = _attributes((group.get("resource") or {}).get("attributes"))
        for scoped in _list(group.get(middle)):
            scope = scoped.get("scope") or {}
            for item in _list(scoped.get(inner)):
                yield resource, scope, item


def _list(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadRequest("a list of objects expected")
    return value


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": event.get("name"),
        "ts": _ts(int(event.get("timeUnixNano", 0))),
        "attributes": _attributes(event.get("attributes")),
    }


def _attributes(pairs: object) -> dict[str, Any]:
    return {str(pair.get("key")): _value(pair.get("value") or {}) for pair in _list(pairs)}


def _value(value: dict[str, Any]) -> Any:
    """An AnyValue as plain JSON (int64s come as strings in OTLP/JSON)."""
    for key, item in value.items():
        if key == "intValue":
            return int(item)
        if key == "doubleValue":
            return float(item)
        if key == "arrayValue":
            return [_value(each) for each in (item or {}).get("values") or ()]
        if key == "kvlistValue":
            return _attributes((item or {}).get("values"))
        return item
    return None


def _id(value: object) -> str:
    """A trace or span id as lowercase hex: OTLP/JSON sends hex, protobuf's JSON form base64."""
    if not value:
        return ""
    text = str(value)
    if len(text) in (16, 32) and all(char in "0123456789abcdefABCDEF" for char in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except binascii.Error:
        raise BadRequest(f"bad id {text[:40]!r}") from None


def _enum(value: object, names: list[str], prefix: str) -> str:
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value.startswith(prefix):
        return value.removeprefix(prefix).lower()
    return names[0]


def _ts(nanoseconds: int) -> str:
    return timestamp(datetime.fromtimestamp(nanoseconds / 1e9, UTC))
