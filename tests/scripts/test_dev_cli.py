"""`dev sql`, `dev db` and `dev doctor` against real services."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from app.db.queries import load_queries
from core.settings import ROOT, Settings
from scripts.isolated import isolated_run
from tests.support.processes import run_dev


def database_env(settings: Settings) -> dict[str, str]:
    return {
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_DB": settings.postgres_db,
        "STATE_DIR": str(settings.state_dir),
    }


def test_sql_list_names_every_query() -> None:
    result = run_dev("sql", "list")
    assert result.returncode == 0, result.stderr
    names = [n for n in load_queries().available_queries if not n.endswith("_cursor")]
    assert names
    for name in names:
        assert name in result.stdout


def test_sql_show_prints_the_query() -> None:
    result = run_dev("sql", "show", "get_user_by_username")
    assert result.returncode == 0
    assert "where username = $1" in result.stdout


def test_sql_run_prints_rows(client: TestClient, settings: Settings) -> None:
    client.post("/api/v1/users", json={"username": "ada", "email": "ada@example.com", "age": 36})
    result = run_dev("sql", "run", "get_user_by_username", "username=ada", **database_env(settings))
    assert result.returncode == 0, result.stderr
    assert "ada@example.com" in result.stdout and "(1 row)" in result.stdout
    page = run_dev("sql", "run", "list_users_page", "limit=5", "offset=0", **database_env(settings))
    assert "ada" in page.stdout and "(1 row)" in page.stdout


def test_sql_run_errors_are_one_clear_line(settings: Settings) -> None:
    for args, needle in (
        (["nope"], "no query named 'nope'"),
        (["list_users_page", "limit=5"], "missing parameter(s) offset"),
        (["list_users_page", "limit=x", "offset=0"], "query failed"),
        (["get_user_by_username", "name=x"], "not one of its parameters"),
    ):
        result = run_dev("sql", "run", *args, **database_env(settings))
        assert result.returncode != 0
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert needle in result.stderr, result.stderr


def test_db_reset_empties_and_migrates(
    client: TestClient, settings: Settings, service_overrides: dict[str, str]
) -> None:
    client.post("/api/v1/users", json={"username": "gone", "email": "g@example.com"})
    # The session's Postgres (its port and password), on the test's database.
    env = {**service_overrides, "POSTGRES_DB": settings.postgres_db}
    assert run_dev("db", "reset", "--yes", **env).returncode == 0
    assert client.get("/api/v1/user/list").json()["total"] == 0


def free_ports_env() -> dict[str, str]:
    """A checkout's settings on free ports, state under .state/test/doctor (isolated_run)."""
    return isolated_run(ROOT / ".state" / "test" / "doctor").overrides


def test_doctor_passes_on_a_healthy_checkout() -> None:
    result = run_dev("doctor", **free_ports_env())
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout


def test_doctor_names_a_taken_port_and_the_fix() -> None:
    env = free_ports_env()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        env["REDIS_PORT"] = str(squatter.getsockname()[1])
        result = run_dev("doctor", **env)
    assert result.returncode == 1
    assert f"FAIL port {env['REDIS_PORT']} (REDIS_PORT) is taken" in result.stdout
    assert "PORT_OFFSET" in result.stdout


def test_doctor_names_a_missing_binary_and_the_fix() -> None:
    result = run_dev("doctor", **free_ports_env(), PATH="/nonexistent", DEV_SERVERS="path")
    assert result.returncode == 1
    assert (
        "FAIL redis (valkey-server): not found — fix: error: redis: DEV_SERVERS=path but "
        "valkey-server is not on the PATH"
    ) in result.stdout
