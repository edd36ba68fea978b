"""The raw-SQL path: aiosql queries from `sql/`, run on the asyncpg pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosql

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def load_queries(sql_dir: Path = SQL_DIR) -> Any:
    """Every named query under `sql_dir`, for the asyncpg driver."""
    return aiosql.from_path(sql_dir, "asyncpg")
