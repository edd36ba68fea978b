"""Tasks queued through the API, run by a real worker: results, failures, retries, request ids."""

from __future__ import annotations

import uuid

import pytest
from celery import Celery
from fastapi.testclient import TestClient

from app.main import create_app
from core.settings import Settings
from tests.support.processes import ServiceProcess, free_port, wait_for
from tests.support.services import own_redis_databases, redis_env
from tests.support.worker import json_lines, running_worker, wait_for_task
from worker.celery_app import create_celery

pytestmark = pytest.mark.usefixtures("worker")


def queue(
    client: TestClient, name: str, arguments: object = None, headers: dict[str, str] | None = None
) -> str:
    response = client.post(f"/api/v1/tasks/{name}", json=arguments, headers=headers)
    assert response.status_code == 202, response.text
    task_id: str = response.json()["id"]
    return task_id


def new_user(client: TestClient, **fields: object) -> int:
    username = f"u{uuid.uuid4().hex[:10]}"
    response = client.post(
        "/api/v1/users", json={"username": username, "email": f"{username}@example.com", **fields}
    )
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


def test_ping_is_pong(api: TestClient) -> None:
    task_id = queue(api, "ping")
    assert wait_for_task(api, task_id, {"SUCCESS", "FAILURE"}) == {
        "id": task_id,
        "state": "SUCCESS",
        "result": "pong",
    }


def test_user_report_counts_the_users_data(api: TestClient) -> None:
    user_id = new_user(api, age=30, mobile="+33 1 23")
    status = wait_for_task(
        api, queue(api, "user_report", {"user_id": user_id}), {"SUCCESS", "FAILURE"}
    )
    assert status["state"] == "SUCCESS", status
    report = status["result"]
    assert report["user_id"] == user_id
    assert (report["profile_fields_filled"], report["profile_fields_total"]) == (2, 3)
    assert report["account_age_days"] == 0


def test_a_missing_user_fails_at_once_with_the_error(
    api: TestClient, celery_client: Celery
) -> None:
    task_id = queue(api, "user_report", {"user_id": 2**62})
    status = wait_for_task(api, task_id, {"SUCCESS", "FAILURE"})
    assert status["state"] == "FAILURE"
    assert status["result"] == {"type": "UserNotFound", "message": f"user {2**62} not found"}
    assert celery_client.AsyncResult(task_id).retries == 0  # not a failure worth retrying


def test_unknown_task_ids_are_pending_and_bad_ids_not_found(api: TestClient) -> None:
    unknown = str(uuid.uuid4())
    assert api.get(f"/api/v1/tasks/{unknown}").json() == {
        "id": unknown,
        "state": "PENDING",
        "result": None,
    }
    assert api.get("/api/v1/tasks/not-a-uuid").status_code == 404
    assert api.get("/api/v1/tasks/ping").headers["allow"] == "POST"  # a name, not an id


def test_request_id_reaches_the_workers_records(api: TestClient, worker: ServiceProcess) -> None:
    request_id = f"test-{uuid.uuid4().hex}"
    user_id = new_user(api)
    task_id = queue(api, "user_report", {"user_id": user_id}, {"X-Request-ID": request_id})
    assert wait_for_task(api, task_id, {"SUCCESS", "FAILURE"})["state"] == "SUCCESS"

    def tagged() -> list[dict[str, object]]:
        return [
            record
            for record in json_lines(worker.output())
            if record.get("request_id") == request_id
        ]

    # Celery logs "succeeded" while the task runs, before its result is readable... or just after.
    wait_for(lambda: len(tagged()) >= 2, 5, "the task's records in the worker's output")
    records = tagged()
    assert {record["component"] for record in records} == {"worker"}
    messages = [str(record["message"]) for record in records]
    assert f"built the report of user {user_id}" in messages
    assert any(task_id in message and "succeeded" in message for message in messages)


def test_a_failing_task_is_retried_then_fails(
    worker_settings: Settings, worker_env: dict[str, str]
) -> None:
    """A worker whose Postgres is down: the report's retries (3, with backoff) run out."""
    # Its own Redis databases, so that the session's worker does not take the task.
    with own_redis_databases(worker_settings) as broken:
        env = {**worker_env, **redis_env(broken), "POSTGRES_PORT": str(free_port())}
        celery = create_celery(broken)
        try:
            with (
                running_worker("worker-no-postgres", env, broken, celery, "--pool", "solo") as down,
                TestClient(create_app(broken), raise_server_exceptions=False) as client,
            ):
                task_id = queue(client, "user_report", {"user_id": 1})
                status = wait_for_task(client, task_id, {"SUCCESS", "FAILURE"}, timeout=30)
                retries = celery.AsyncResult(task_id).retries
                output = down.output()
        finally:
            celery.close()
    assert status["state"] == "FAILURE"
    assert status["result"]["type"] in {"ConnectionRefusedError", "OSError"}, status
    assert (
        "Connect call failed" in status["result"]["message"]
        or "refused" in status["result"]["message"]
    ), status
    assert retries == 3
    assert output.count(f"[{task_id}] retry:") == 3, output[-3000:]


def test_unknown_names_and_bad_arguments_are_refused_before_queueing(
    worker_settings: Settings,
) -> None:
    # No broker at all: had anything been sent, the answer would be a 503.
    no_broker = worker_settings.model_copy(update={"redis_port": free_port()})
    with TestClient(create_app(no_broker), raise_server_exceptions=False) as client:
        unknown = client.post("/api/v1/tasks/nope")
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["error"]["code"] == "not_found"
        for name, arguments in [
            ("user_report", {"user_id": True}),
            ("user_report", {"user_id": "5"}),
            ("ping", {"user_id": 5}),
            ("ping", {"extra": 1}),
            ("user_report", {}),
            ("user_report", {"user_id": 0}),
            ("user_report", {"user_id": "x"}),
            ("ping", [1]),
        ]:
            refused = client.post(f"/api/v1/tasks/{name}", json=arguments)
            assert refused.status_code == 422, (name, arguments, refused.text)
            assert refused.json()["error"]["code"] == "invalid_request"
        # No body, and `{}` (what clients of the generic operation sent), are ping's arguments.
        body: dict[str, int] | None
        for body in (None, {}):
            down = client.post("/api/v1/tasks/ping", json=body)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "service_unavailable"
