"""Traces across the stack, on real parts: the production api (granian), a prefork worker whose
child exits after each task (`--max-tasks-per-child 1`), the session's Postgres and Redis, and
the log server receiving OTLP. One request that queues a task is one trace: the api's server
span, its publish and Redis spans, the worker's run span under the publish span, the task's
queries under that; the request's log records carry the trace id; `logserver trace` draws it."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from core.settings import Settings
from logserver.reader import records
from scripts.probes import http_ok
from tests.support.logserver import LogServerProcess
from tests.support.processes import ServiceProcess, free_port, wait_for
from tests.support.services import own_redis_databases, redis_env
from tests.support.worker import running_worker
from worker.celery_app import create_celery


@dataclass
class TracedStack:
    base: str
    logs: Path

    def stored(self, stream: str | None = None) -> list[dict[str, Any]]:
        return list(records(self.logs, [stream] if stream else ()))

    def spans_of(self, trace_id: str) -> dict[str, dict[str, Any]]:
        return {doc["span_id"]: doc for doc in self.stored("spans") if doc["trace_id"] == trace_id}


@pytest.fixture(scope="module")
def traced(
    worker_settings: Settings, worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TracedStack]:
    state = tmp_path_factory.mktemp("traced")
    # Redis databases of its own, so that the session's worker takes none of these tasks.
    with own_redis_databases(worker_settings.model_copy(update={"state_dir": state})) as settings:
        yield from _traced_stack(settings, worker_env, state)


def _traced_stack(
    settings: Settings, worker_env: dict[str, str], state: Path
) -> Iterator[TracedStack]:
    # A token, as production requires one (the OTLP exporter sends it as a bearer header).
    token = "traces-test-token"
    with LogServerProcess(state / "logs", state, token=token) as logserver:
        env = {
            **worker_env,
            "STATE_DIR": str(state),
            **redis_env(settings),
            "LOGSERVER_ENABLED": "true",
            "LOGSERVER_PORT": str(logserver.port),
            "LOGSERVER_TOKEN": token,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{logserver.port}",
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{token}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        # The worker's spans are sent only when its child exits (after each task): a schedule
        # of ten minutes, so that they arrive by the flush at exit or not at all.
        child_env = {**env, "OTEL_BSP_SCHEDULE_DELAY": "600000"}
        port = free_port()
        api_env = {
            **env,
            "ENVIRONMENT": "production",
            "API_PORT": str(port),
            "API_RELOAD": "false",
            "API_WORKERS": "1",
        }
        celery = create_celery(settings)
        api = ServiceProcess("api", [sys.executable, "-m", "app"], api_env, state, signal.SIGTERM)
        one_task_a_child = ("--max-tasks-per-child", "1")
        with running_worker("traced-worker", child_env, settings, celery, *one_task_a_child), api:
            base = f"http://127.0.0.1:{port}"
            api.wait_until(partial(http_ok, f"{base}/health"), 180, "/health")
            yield TracedStack(base, logserver.base)
        celery.close()


def _queue_report(http: httpx.Client) -> tuple[str, int]:
    """Creates a user, queues its report, waits for the task: the request id, the user id."""
    username = f"t{uuid.uuid4().hex[:10]}"
    created = http.post("/api/v1/users", json={"username": username, "email": "t@example.com"})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    queued = http.post("/api/v1/tasks/user_report", json={"user_id": user_id})
    assert queued.status_code == 202, queued.text
    task_id = queued.json()["id"]

    def done() -> bool:
        return http.get(f"/api/v1/tasks/{task_id}").json()["state"] in ("SUCCESS", "FAILURE")

    wait_for(done, 60, "the report task")
    assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "SUCCESS"
    return queued.headers["x-request-id"], user_id


def _trace_of(traced: TracedStack, request_id: str) -> str:
    found: list[str] = []

    def access_record() -> bool:
        found[:] = [
            doc["trace_id"]
            for doc in traced.stored("access")
            if doc.get("request_id") == request_id and doc.get("trace_id")
        ]
        return bool(found)

    wait_for(access_record, 30, "the access record")
    return found[0]


def _ancestors(spans: dict[str, dict[str, Any]], span: dict[str, Any]) -> list[str]:
    chain = []
    while span.get("parent_id") in spans:
        span = spans[span["parent_id"]]
        chain.append(span["span_id"])
    return chain


def test_a_queued_task_is_one_trace_from_the_api_through_the_worker(traced: TracedStack) -> None:
    with httpx.Client(base_url=traced.base, timeout=10) as http:
        request_id, user_id = _queue_report(http)
    trace_id = _trace_of(traced, request_id)

    def both_sides_arrived() -> bool:
        kinds = {(span["component"], span["kind"]) for span in traced.spans_of(trace_id).values()}
        return {("api", "server"), ("worker", "consumer")} <= kinds

    # The worker's child exits after this task (--max-tasks-per-child 1): its spans come by the
    # flush at its exit, as its export schedule (ten minutes) is far off. The api's come on its
    # 200 ms schedule, which a loaded machine can put after the worker's flush.
    wait_for(both_sides_arrived, 60, "the api's and the worker's spans")
    spans = traced.spans_of(trace_id)
    (server,) = [s for s in spans.values() if s["kind"] == "server"]
    assert (server["component"], server["parent_id"]) == ("api", None)
    assert server["attributes"]["http.route"] == "/api/v1/tasks/user_report"
    (publish,) = [s for s in spans.values() if s["kind"] == "producer"]
    assert publish["component"] == "api" and server["span_id"] in _ancestors(spans, publish)
    redis_spans = [s for s in spans.values() if s["attributes"].get("db.system") == "redis"]
    api_redis = [s for s in redis_spans if s["component"] == "api"]
    assert any("LPUSH" in s["name"] for s in api_redis), redis_spans  # the task into the queue
    assert all(server["span_id"] in _ancestors(spans, s) for s in api_redis), redis_spans
    (run,) = [s for s in spans.values() if s["kind"] == "consumer"]
    assert (run["component"], run["parent_id"]) == ("worker", publish["span_id"])
    queries = [s for s in spans.values() if s["attributes"].get("db.system") == "postgresql"]
    assert queries and all(run["span_id"] in _ancestors(spans, q) for q in queries), queries
    assert any(s["component"] == "worker" for s in redis_spans)  # the task's result stored

    # The request's and the task's records carry the trace; the task's log line, its span.
    report = f"built the report of user {user_id}"
    logged: list[dict[str, Any]] = []

    def task_logged() -> bool:
        logged[:] = [doc for doc in traced.stored() if doc.get("request_id") == request_id]
        return any(doc["message"] == report for doc in logged)

    wait_for(task_logged, 30, "the task's log record")
    assert {doc["component"] for doc in logged} >= {"api", "worker"}
    assert {doc.get("trace_id") for doc in logged} == {trace_id}, logged
    (report_line,) = [
        doc for doc in logged if doc["message"] == f"built the report of user {user_id}"
    ]
    assert report_line["span_id"] == run["span_id"]

    waterfall = subprocess.run(
        [sys.executable, "-m", "logserver", "trace", request_id, "--dir", str(traced.logs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = waterfall.splitlines()
    assert lines[0].startswith(f"trace {trace_id} (request {request_id})"), waterfall
    server_line = next(line for line in lines if "POST /api/v1/tasks/user_report" in line)
    run_line = next(line for line in lines if "run/" in line)
    assert " worker " in run_line and " api " in server_line, waterfall
    assert _indent(run_line) > _indent(server_line), waterfall
    report_at = next(i for i, line in enumerate(lines) if "built the report of user" in line)
    assert lines.index(run_line) < report_at, waterfall


def _request_stored(traced: TracedStack, trace_id: str) -> bool:
    """Whether the request's span is stored with spans under it. It ends after them, so they are
    exported before it or with it; a wait for any two spans could read the trace without it."""
    spans = traced.spans_of(trace_id).values()
    return len(spans) > 1 and any(span["kind"] == "server" for span in spans)


def _indent(line: str) -> int:
    """Where the span's name starts: deeper spans are indented further."""
    label = line[line.index(" ms  ") + 5 :][10:]
    return len(label) - len(label.lstrip())


def test_both_query_paths_give_one_span_a_query_under_the_request(traced: TracedStack) -> None:
    with httpx.Client(base_url=traced.base, timeout=10) as http:
        orm = http.post(
            "/api/v1/users", json={"username": f"q{uuid.uuid4().hex[:8]}", "email": "q@e.com"}
        )
        raw = http.get("/api/v1/user/list", params={"page_size": 5})  # aiosql on asyncpg
    assert (orm.status_code, raw.status_code) == (201, 200)
    for response in (orm, raw):
        trace_id = _trace_of(traced, response.headers["x-request-id"])
        wait_for(partial(_request_stored, traced, trace_id), 30, "the request's spans")
        spans = traced.spans_of(trace_id)
        (server,) = [s for s in spans.values() if s["kind"] == "server"]
        queries = [s for s in spans.values() if s["attributes"].get("db.system") == "postgresql"]
        assert queries, spans
        for query in queries:
            # Right under the request (or its ORM session), never under another query's span.
            assert server["span_id"] in _ancestors(spans, query)
            assert spans.get(query["parent_id"], {}).get("attributes", {}).get("db.system") is None
