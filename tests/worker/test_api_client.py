"""A client generated from the served api's own /openapi.json by openapi-python-client, the way
the README says to, drives every operation against real Postgres, Redis and a Celery worker.

Each answer must have a status its operation documents (the client raises on any other) and parse
into the model documented for that status; no call goes around the generated functions and models.
It is here, beside the worker's fixtures, because queued tasks must run to SUCCESS.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.support.processes import wait_for
from tests.support.worker import TASK_SECONDS

pytestmark = pytest.mark.usefixtures("worker")

BIN = Path(sys.executable).parent
GENERATOR = str(BIN / "openapi-python-client")
PACKAGE = "stack_client"


@pytest.fixture(scope="module")
def generated(served_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the served api's /openapi.json, imported."""
    root = tmp_path_factory.mktemp("client")
    # The generator formats its output with ruff, which is beside it in the venv.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    run = subprocess.run(
        [GENERATOR, "generate", "--url", f"{served_api}/openapi.json", "--meta", "none"]
        + ["--output-path", str(root / PACKAGE)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    # It warns of any part of the schema it could not generate a client for.
    assert run.returncode == 0 and "warning" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


class GeneratedClient:
    """The generated client's operations, by operation id; `call` checks and records each."""

    def __init__(self, package: ModuleType, client: Any) -> None:
        self.client = client
        self.models = importlib.import_module(f"{PACKAGE}.models")
        api = Path(str(package.__file__)).parent / "api"
        self.modules = {
            path.stem: f"{PACKAGE}.api.{path.parent.name}.{path.stem}"
            for path in api.glob("*/*.py")
            if path.stem != "__init__"
        }
        self.called: set[str] = set()

    def call(
        self, operation: str, status: int, model: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        """Calls `operation`; its answer must be `status`, parsed into `model` (None: no body)."""
        module = importlib.import_module(self.modules[operation])
        response = module.sync_detailed(*args, client=self.client, **kwargs)
        self.called.add(operation)
        assert response.status_code == status, (operation, response.status_code, response.content)
        expected = type(None) if model is None else getattr(self.models, model)
        assert isinstance(response.parsed, expected), (operation, response.parsed)
        return response.parsed

    def task_result(self, task_id: str) -> Any:
        """The result of a task the worker ran, once its state is SUCCESS."""
        seen: list[Any] = []

        def succeeded() -> bool:
            status = self.call("read_task", 200, "TaskStatus", uuid.UUID(task_id))
            assert status.id == task_id and status.state != "FAILURE", status
            seen.append(status)
            return bool(status.state == self.models.TaskStatusState.SUCCESS)

        wait_for(succeeded, TASK_SECONDS, f"task {task_id} to succeed (last: {seen[-1:]})")
        return seen[-1].result


@pytest.fixture
def api_client(generated: ModuleType, served_api: str) -> Iterator[GeneratedClient]:
    """The generated client, raising on any status its operation does not document."""
    with generated.Client(base_url=served_api, raise_on_unexpected_status=True) as client:
        yield GeneratedClient(generated, client)


def test_a_generated_client_drives_every_operation(
    api_client: GeneratedClient, served_api: str
) -> None:
    models = api_client.models
    assert api_client.call("health", 200, "Health").status == "ok"
    assert api_client.call("ready", 200, "Readiness").status == "ready"
    assert api_client.call("greeting", 200, "Greeting", name="ann").message == "Hello, ann!"
    assert api_client.call("counter", 200, "Counter").counter >= 1

    username = f"client_{uuid.uuid4().hex[:10]}"
    new = models.UserCreate(username=username, email=f"{username}@example.com", age=30)
    user = api_client.call("create_user", 201, "UserOut", body=new)
    taken = api_client.call("create_user", 409, "ErrorResponse", body=new)
    assert (taken.error.status, taken.error.code) == (409, "conflict")
    assert api_client.call("read_user", 200, "UserOut", user.id).username == username
    changed = api_client.call(
        "update_user", 200, "UserOut", user.id, body=models.UserUpdate(age=31)
    )
    assert (changed.id, changed.age) == (user.id, 31)
    # The model types email as str; a client that sends null anyway gets the documented 422.
    refused = api_client.call(
        "update_user", 422, "ErrorResponse", user.id, body=models.UserUpdate(email=None)
    )
    assert refused.error.code == "invalid_request" and "email" in refused.error.message
    page = api_client.call("list_users", 200, "UserPage", page=1, page_size=100)
    assert page.total >= 1 and all(isinstance(item, models.UserOut) for item in page.items)

    pinged = api_client.call("queue_ping", 202, "TaskQueued")
    report = api_client.call(
        "queue_user_report", 202, "TaskQueued", body=models.UserReportArguments(user_id=user.id)
    )
    stats = api_client.call("queue_user_stats", 202, "TaskQueued")
    assert api_client.task_result(pinged.id) == "pong"
    assert api_client.task_result(report.id)["user_id"] == user.id
    assert api_client.task_result(stats.id)["users"] >= 1

    assert api_client.call("delete_user", 204, None, user.id) is None
    gone = api_client.call("read_user", 404, "ErrorResponse", user.id)
    assert (gone.error.status, gone.error.code) == (404, "not_found")

    document = requests.get(f"{served_api}/openapi.json", timeout=10).json()
    documented = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }
    assert api_client.called == documented == set(api_client.modules)
