"""`dev sql`: the aiosql queries of `sql/`: list them, show one, run one on the dev database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

from app.db.queries import load_queries
from core.settings import Settings
from scripts.launch import LaunchError

CONVERTERS: dict[str, Any] = {
    "int2": int,
    "int4": int,
    "int8": int,
    "float4": float,
    "float8": float,
    "numeric": float,
    "bool": lambda text: text.lower() in {"1", "true", "yes", "on"},
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
    "timestamptz": datetime.fromisoformat,
}


def query(name: str) -> Any:
    queries = load_queries()
    if name not in queries.available_queries:
        raise LaunchError(f"no query named {name!r}; 'dev sql list' shows them")
    return getattr(queries, name)


def list_queries(console: Console) -> None:
    queries = load_queries()
    table = Table("name", "operation", "parameters", "description")
    for name in sorted(queries.available_queries):
        if name.endswith("_cursor"):
            continue
        function = getattr(queries, name)
        table.add_row(
            name,
            function.operation.name.lower(),
            ", ".join(function.parameters or []),
            (function.__doc__ or "").strip(),
        )
    console.print(table)


def show(console: Console, name: str) -> None:
    function = query(name)
    console.print(f"-- {name}({', '.join(function.parameters or [])}): {function.__doc__}")
    console.print(function.sql, highlight=False)


def parse_arguments(name: str, parameters: Sequence[str], pairs: Sequence[str]) -> dict[str, str]:
    arguments = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in parameters:
            raise LaunchError(
                f"{name}: {pair!r} is not one of its parameters "
                f"({', '.join(parameters) or 'none'}); pass them as key=value"
            )
        arguments[key] = value
    missing = [parameter for parameter in parameters if parameter not in arguments]
    if missing:
        raise LaunchError(
            f"{name}: missing parameter(s) {', '.join(missing)}; pass them as key=value"
        )
    return arguments


async def _fetch(settings: Settings, sql: str, texts: list[str]) -> list[asyncpg.Record]:
    try:
        connection = await asyncpg.connect(settings.postgres_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise LaunchError(
            f"cannot connect to Postgres at {settings.postgres_host}:"
            f"{settings.postgres_port} ({error}); is the stack running? (make dev)"
        ) from None
    try:
        statement = await connection.prepare(sql)
        values = [
            CONVERTERS.get(kind.name, str)(text)
            for kind, text in zip(statement.get_parameters(), texts, strict=True)
        ]
        return list(await statement.fetch(*values))
    except (asyncpg.PostgresError, ValueError) as error:
        raise LaunchError(f"query failed: {error}") from None
    finally:
        await connection.close()


def run(console: Console, settings: Settings, name: str, pairs: Sequence[str]) -> None:
    function = query(name)
    parameters = list(function.parameters or [])
    arguments = parse_arguments(name, parameters, pairs)
    # In the order of the SQL's $n, which aiosql numbers by first appearance in the text.
    ordered = load_queries().driver_adapter.maybe_order_params(name, arguments)
    rows = asyncio.run(_fetch(settings, function.sql, ordered))
    if not rows:
        console.print("(no rows)")
        return
    table = Table(*(Column(key, overflow="fold") for key in rows[0].keys()))
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row.values()))
    if not console.is_terminal:
        # A terminal gets the table folded to its width; a pipe gets every cell whole on a line.
        whole = Measurement.get(console, console.options.update_width(1 << 16), table).maximum
        console = Console(file=console.file, width=max(console.width, whole))
    console.print(table)
    console.print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
