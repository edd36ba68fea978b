"""`dev db`: the schema through Alembic (upgrade, downgrade, revision, reset)."""

from __future__ import annotations

import subprocess

from scripts.launch import VENV_BIN, LaunchError, exec_command

ALEMBIC = str(VENV_BIN / "alembic")


def alembic_argv(*args: str, url: str | None = None) -> list[str]:
    """`alembic args`, against `url` instead of the settings' database when given: the one way
    the dev CLI, the migrate process, the bench and the tests run Alembic."""
    return [ALEMBIC, *(["-x", f"url={url}"] if url else []), *args]


def alembic(*args: str) -> None:
    """Becomes `alembic args` (its own output and exit status)."""
    exec_command(alembic_argv(*args))


def reset() -> None:
    """Every migration down, then up again: an empty, current schema."""
    for step in (["downgrade", "base"], ["upgrade", "head"]):
        print(f"--> alembic {' '.join(step)}", flush=True)
        if subprocess.run(alembic_argv(*step), check=False).returncode != 0:
            raise LaunchError(f"alembic {' '.join(step)} failed (see above)")
