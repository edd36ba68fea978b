"""Every write through the API fits the table, checked from the migrated schema itself: a column
added later, with its NOT NULL, length or check, is covered without touching this file.

For each column of each table the API writes: a NOT NULL column cannot be nulled (422 naming
it), a value past the column's type is refused by the schema, the values at the edges of the
schema are stored as they are, and text with NUL (which Postgres cannot hold) is refused. A write
the database still refuses is a 409 or 422, never a 500.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.models import Base
from app.schemas.user import UserCreate, UserUpdate
from core.settings import Settings
from tests.support.services import fetch

# Each table the API writes: its create model and its update model. A table without a line
# here fails test_every_table_the_api_writes_is_checked.
WRITE_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "users": (UserCreate, UserUpdate),
}
# Tables that no API operation writes (only the worker, say): nothing to check here.
NOT_WRITTEN_BY_THE_API: set[str] = set()
URLS = {"users": "/api/v1/users"}
INTEGER_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_numbers = itertools.count()


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    nullable: bool
    data_type: str
    max_length: int | None
    server_set: bool  # identity, generated or with a default
    checked: bool  # under a CHECK constraint


def migrated_columns(settings: Settings) -> list[Column]:
    rows = fetch(
        settings,
        """
                select c.table_name as table, c.column_name as name,
                       c.is_nullable = 'YES' as nullable,
                       c.data_type, c.character_maximum_length as max_length,
                       (c.column_default is not null or c.is_identity = 'YES'
                        or c.is_generated = 'ALWAYS') as server_set,
                       exists (select 1 from pg_constraint k
                                 join pg_class t on t.oid = k.conrelid
                                 join pg_attribute a
                                   on a.attrelid = t.oid and a.attnum = any (k.conkey)
                                -- CHECKs only: from Postgres 18 on, NOT NULL is a constraint too
                                where k.contype = 'c' and t.relname = c.table_name
                                  and a.attname = c.column_name) as checked
                  from information_schema.columns c
                 where c.table_schema = 'public' and c.table_name <> 'alembic_version'
                 order by c.table_name, c.ordinal_position
                """,
    )
    return [Column(**dict(row)) for row in rows]


@pytest.fixture
def columns(settings: Settings) -> list[Column]:
    return migrated_columns(settings)


def written(columns: list[Column]) -> list[Column]:
    """The columns a client writes: those that a create or update model has a field for."""
    return [
        column
        for column in columns
        if column.table in WRITE_MODELS
        and any(column.name in model.model_fields for model in WRITE_MODELS[column.table])
    ]


def field_schema(model: type[BaseModel], name: str) -> tuple[dict[str, Any], bool]:
    """The JSON schema of a model's field without its null branch, and whether null is allowed."""
    schema: dict[str, Any] = model.model_json_schema()["properties"][name]
    branches = schema.get("anyOf", [schema])
    kept = [branch for branch in branches if branch.get("type") != "null"]
    assert len(kept) == 1, f"{model.__name__}.{name}: one type expected, got {schema}"
    return kept[0], len(kept) < len(branches)


def valid_create(table: str) -> dict[str, Any]:
    """A create body with only the required fields, unique each time."""
    number = next(_numbers)
    assert table == "users", f"add a valid body for {table}"
    return {"username": f"edge{number}", "email": f"edge{number}@example.com"}


def string_of_length(schema: dict[str, Any], length: int) -> str:
    if schema.get("format") == "email":
        domain = ".".join(["d" * 63, "e" * 63, "f" * 63])
        local = "a" * max(1, min(64, length - len(domain) - 1))
        value = f"{local}@{domain}"[:length]
        return value if value.endswith(tuple("def")) else value[:-1] + "f"
    return "a" * length


def edge_values(column: Column, schema: dict[str, Any]) -> list[object]:
    """The values at the edges of what the schema accepts for this column."""
    if schema.get("type") == "integer":
        return [schema["minimum"], schema["maximum"]]
    if schema.get("type") == "string":
        return [string_of_length(schema, schema["maxLength"])]
    raise AssertionError(f"{column.table}.{column.name}: no edge values for {schema}")


def create(client: TestClient, table: str, body: dict[str, Any]) -> Any:
    return client.post(URLS[table], json=body)


def test_every_table_the_api_writes_is_checked(columns: list[Column]) -> None:
    tables = {column.table for column in columns}
    assert tables == set(Base.metadata.tables), "the models and the migrations disagree"
    unchecked = tables - set(WRITE_MODELS) - NOT_WRITTEN_BY_THE_API
    assert not unchecked, f"add the write models of {unchecked} to WRITE_MODELS"


def test_every_field_is_a_column_and_every_required_column_is_required(
    columns: list[Column],
) -> None:
    for table, (create_model, update_model) in WRITE_MODELS.items():
        names = {column.name for column in columns if column.table == table}
        for model in (create_model, update_model):
            assert set(model.model_fields) <= names, f"{model.__name__} has fields without columns"
            assert model.model_config.get("extra") == "forbid", model.__name__
        for column in columns:
            if column.table == table and not column.nullable and not column.server_set:
                assert create_model.model_fields[column.name].is_required(), column


def test_not_null_columns_cannot_be_nulled(client: TestClient, columns: list[Column]) -> None:
    for column in written(columns):
        create_model, update_model = WRITE_MODELS[column.table]
        user = create(client, column.table, valid_create(column.table)).json()
        for model, method, url in (
            (create_model, "POST", URLS[column.table]),
            (update_model, "PATCH", f"{URLS[column.table]}/{user['id']}"),
        ):
            _, nullable = field_schema(model, column.name)
            assert nullable == column.nullable, f"{model.__name__}.{column.name} vs {column}"
            body = {**valid_create(column.table), column.name: None}
            if method == "PATCH":
                body = {column.name: None}
            response = client.request(method, url, json=body)
            if column.nullable:
                assert response.status_code in (200, 201), response.text
                continue
            assert response.status_code == 422, (column, response.text)
            error = response.json()["error"]
            assert column.name in error["message"], error
            assert ["body", column.name] in [problem["loc"] for problem in error["details"]]


def test_the_schema_keeps_within_the_column_types(columns: list[Column]) -> None:
    for column in written(columns):
        for model in WRITE_MODELS[column.table]:
            schema, _ = field_schema(model, column.name)
            where = f"{model.__name__}.{column.name} ({column.data_type})"
            if column.data_type in INTEGER_RANGES:
                low, high = INTEGER_RANGES[column.data_type]
                assert schema["type"] == "integer", where
                assert low <= schema["minimum"] <= schema["maximum"] <= high, where
            elif column.data_type in ("character varying", "character", "text"):
                assert schema["type"] == "string", where
                if column.max_length is not None:
                    assert schema.get("maxLength", column.max_length + 1) <= column.max_length, (
                        f"{where}: maxLength over {column.max_length}"
                    )
                # NUL: Postgres text cannot hold it. A format (email) or a pattern must refuse it.
                assert "format" in schema or "pattern" in schema, f"{where}: NUL would pass"
            else:
                raise AssertionError(f"{where}: add the bounds of this type to this test")


def test_the_edges_of_the_schema_are_stored_as_they_are(
    client: TestClient, columns: list[Column]
) -> None:
    """The check constraints and the column types take every value at the schema's edges."""
    for column in written(columns):
        create_model, _ = WRITE_MODELS[column.table]
        schema, _ = field_schema(create_model, column.name)
        for value in edge_values(column, schema):
            response = create(
                client, column.table, {**valid_create(column.table), column.name: value}
            )
            assert response.status_code == 201, (column, value, response.text)
            assert response.json()[column.name] == value


def test_past_the_edges_is_a_422(client: TestClient, columns: list[Column]) -> None:
    for column in written(columns):
        create_model, _ = WRITE_MODELS[column.table]
        schema, _ = field_schema(create_model, column.name)
        if schema["type"] == "integer":
            beyond: list[object] = [schema["minimum"] - 1, schema["maximum"] + 1, True, "1"]
        else:
            beyond = [string_of_length(schema, schema["maxLength"] + 1), "a\x00b", 1]
        for value in beyond:
            body = {**valid_create(column.table), column.name: value}
            response = create(client, column.table, body)
            assert response.status_code == 422, (column, value, response.text)


def test_every_checked_column_has_its_edges_tried(columns: list[Column]) -> None:
    """A CHECK on a column the API does not write would go untried above."""
    tried = {(column.table, column.name) for column in written(columns)}
    for column in columns:
        if column.checked:
            assert (column.table, column.name) in tried, column


def test_what_the_database_still_refuses_is_a_409_or_422(
    client: TestClient, settings: Settings
) -> None:
    """Rules the schema does not know, added to this test's database: the client learns which
    rule, and nothing is stored."""

    fetch(
        settings,
        "alter table users add constraint no_bob check (username <> 'bob');"
        "alter table users alter column mobile type varchar(4);"
        "create unique index users_email_key on users (email);",
    )
    checked = create(client, "users", {"username": "bob", "email": "bob@example.com"})
    assert checked.status_code == 422, checked.text
    assert "no_bob" in checked.json()["error"]["message"]
    too_long = create(client, "users", {**valid_create("users"), "mobile": "12345"})
    assert too_long.status_code == 422, too_long.text
    assert create(client, "users", {"username": "ann", "email": "x@example.com"}).status_code == 201
    taken = create(client, "users", {"username": "amy", "email": "x@example.com"})
    assert taken.status_code == 409, taken.text
    assert "email" in taken.json()["error"]["message"]
    assert client.get("/api/v1/user/list").json()["total"] == 1
