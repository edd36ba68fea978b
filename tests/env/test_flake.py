"""flake.nix: it parses, pins one nixpkgs revision, and its dev shell evaluates for every system
against the nixpkgs stub, with every tool the Makefile and process-compose.yaml run."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from tests.env import pins
from tests.env.tools import NIXPKGS_STUB, ROOT, Nix

SYSTEMS = ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")

# What the dev CLI starts besides what the Makefile names (scripts/stack.py, postgres.py,
# redis_server.py) and what bootstrap needs to make .venv (find_python, ensure_uv).
DEV_CLI_TOOLS = {"process-compose", "postgres", "initdb", "pg_isready", "valkey-server"}
BOOTSTRAP_TOOLS = {f"python{s.value}" for s in pins.statements(ROOT) if s.pin == "python"} | {"uv"}
# Programs no shell can provide: `make build/up/down` talk to the host's Docker engine.
HOST_TOOLS = {"docker"}
# Console scripts of the project and its packages: .venv/bin, made by `uv sync`.
VENV_TOOLS = {"dev", "api", "alembic", "uvicorn", "pytest", "ruff", "mypy"}
VENV_TOOLS.add("logserver")  # part: logserver
VENV_TOOLS.add("celery")  # part: background
SHELL_WORDS = {  # keywords and builtins of bash
    *("if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "until", "case"),
    *("esac", "{", "}", "!", "[", "[[", "]]", ".", ":", "source", "cd", "echo", "printf", "exit"),
    *("test", "true", "false", "export", "set", "unset", "exec", "read", "shift", "command"),
    *("trap", "wait", "kill", "local", "eval", "pwd", "type", "hash", "ulimit", "umask"),
    *("return", "break", "continue", "declare", "readonly", "let", "jobs"),
}


@pytest.fixture
def flake(scratch: Path) -> Path:
    """flake.nix alone in a folder: a `path:` flake, so that Git's view of the checkout (with
    untracked files) and the rest of the checkout do not matter."""
    folder = scratch / "flake"
    folder.mkdir()
    shutil.copyfile(ROOT / "flake.nix", folder / "flake.nix")
    if (ROOT / "flake.lock").exists():
        shutil.copyfile(ROOT / "flake.lock", folder / "flake.lock")
    return folder


def test_flake_and_stub_parse(nix: Nix) -> None:
    for path in (ROOT / "flake.nix", *sorted(NIXPKGS_STUB.glob("*.nix"))):
        nix.parse(path)


def test_nixpkgs_is_the_only_input_pinned_to_one_revision() -> None:
    text = (ROOT / "flake.nix").read_text()
    urls = re.findall(r'^\s*inputs\.(\S+)\.url = "([^"]+)";', text, re.MULTILINE)
    assert len(urls) == 1 and urls[0][0] == "nixpkgs", urls
    revision = re.fullmatch(r"github:NixOS/nixpkgs/([0-9a-f]{40})", urls[0][1])
    assert revision, f"nixpkgs is not pinned to a commit: {urls[0][1]}"
    lock = ROOT / "flake.lock"
    if lock.exists():
        locked = json.loads(lock.read_text())["nodes"]["nixpkgs"]["locked"]
        assert locked["rev"] == revision[1], "flake.lock and the input URL pin different revisions"


@pytest.mark.parametrize("system", SYSTEMS)
def test_dev_shell_evaluates(nix: Nix, flake: Path, system: str) -> None:
    drv = nix.eval(flake, f"devShells.{system}.default.drvPath", "--raw").stdout
    assert re.fullmatch(r"/nix/store/\w{32}-fastapi-stack\.drv", drv), drv


def test_app_runs_the_stack_on_every_system(nix: Nix, flake: Path) -> None:
    programs = json.loads(
        nix.eval(
            flake,
            "apps",
            "--json",
            "--apply",
            "apps: builtins.mapAttrs (s: a: a.default.program) apps",
        ).stdout
    )
    assert sorted(programs) == sorted(SYSTEMS)
    assert all(program.endswith("/bin/fastapi-stack-dev") for program in programs.values())


def _shell(nix: Nix, flake: Path, system: str) -> dict[str, Any]:
    expression = (
        "shell: { inherit (shell) shellHook env; packages = map (p: { inherit (p) name; "
        "programs = p.programs; }) shell.nativeBuildInputs; stdenv = shell.programs; }"
    )
    shell: dict[str, Any] = json.loads(
        nix.eval(flake, f"devShells.{system}.default", "--json", "--apply", expression).stdout
    )
    return shell


@pytest.mark.parametrize("system", ["x86_64-linux", "aarch64-darwin"])
def test_dev_shell_has_the_pinned_versions(nix: Nix, flake: Path, system: str) -> None:
    names = {package["name"] for package in _shell(nix, flake, system)["packages"]}
    wanted = {s.pin: s.value for s in pins.statements(ROOT) if s.file == "flake.nix"}
    for pname, pin in (("python3", "python"), ("postgresql", "postgres"), ("valkey", "valkey")):
        assert any(name.startswith(f"{pname}-{wanted[pin]}") for name in names), (pname, names)
    # process-compose: the pin is the oldest supported (the stub's is the revision's own).
    found = next(name for name in names if name.startswith("process-compose-"))
    assert Version(found.rsplit("-", 1)[1]) >= Version(wanted["process-compose"]), found


def test_dev_shell_syncs_the_venv_without_downloading_python(nix: Nix, flake: Path) -> None:
    shell = _shell(nix, flake, "x86_64-linux")
    env = shell["env"]
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    assert re.fullmatch(r"/nix/store/\w{32}-python3-3\.11\.\d+/bin/python3\.11", env["UV_PYTHON"])
    # libstdc++ for the manylinux wheels (greenlet, debugpy): the compiler's runtime library.
    assert re.fullmatch(r"/nix/store/\w{32}-gcc-[\d.]+-lib/lib", env["LD_LIBRARY_PATH"])
    hook = shell["shellHook"]
    assert "uv sync --locked" in hook and "make dev" in hook


def _first_words(script: str) -> set[str]:
    """The programs a shell line runs: the first word of each command between operators."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words, expecting = set(), True
    for token in lexer:
        if token in {"&&", "||", ";", "|", "(", ")", "&", ";;"}:
            expecting = True
        elif expecting and re.fullmatch(r"[A-Za-z_]\w*=.*", token) is None:
            words.add(token)
            expecting = False
    return words


def _program(word: str) -> str | None:
    """The tool a word names, or None for a shell word, a program of the project's venv or one of
    the project's own scripts (scripts/compose.sh drives the host's container engine)."""
    if word in SHELL_WORDS or word.startswith(".venv/bin/") or word in VENV_TOOLS:
        return None
    if not word.startswith("/") and (ROOT / word).is_file():
        return None
    return Path(word).name if word.startswith("/") else word


def tools_the_project_runs() -> set[str]:
    """Programs run by the Makefile's recipes and by process-compose.yaml's processes."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(re.findall(r"^([A-Z_]+)\s*:?=\s*(.+)$", makefile, re.MULTILINE))
    words: set[str] = set()
    for line in makefile.splitlines():
        if line.startswith("\t"):
            line = line.lstrip("\t@-+ ").replace("$(MAKE)", "make")
            for name, value in variables.items():
                line = line.replace(f"$({name})", value.strip())
            line = re.sub(r"\$\([A-Za-z_][\w]*\)", "MAKE-VARIABLE", line)  # an argument
            line = line.replace("$$(", "(").replace("$$", "$")  # $$(command) runs command
            words |= _first_words(line)
    processes = yaml.safe_load((ROOT / "process-compose.yaml").read_text())["processes"]
    for process in processes.values():
        for probe in ("readiness_probe", "liveness_probe"):
            command = (process.get(probe) or {}).get("exec", {}).get("command")
            if command:
                words |= _first_words(command)
        words |= _first_words(process["command"])
    return {tool for word in words if (tool := _program(word))} | DEV_CLI_TOOLS | BOOTSTRAP_TOOLS


@pytest.mark.parametrize("system", ["x86_64-linux", "aarch64-darwin"])
def test_dev_shell_provides_every_tool_the_project_runs(nix: Nix, flake: Path, system: str) -> None:
    shell = _shell(nix, flake, system)
    provided = set(shell["stdenv"])
    for package in shell["packages"]:
        provided |= set(package["programs"])
    missing = tools_the_project_runs() - provided - HOST_TOOLS
    assert not missing, f"the dev shell lacks {sorted(missing)}: add their packages to flake.nix"


def test_a_nixpkgs_with_another_process_compose_stops_evaluation(
    nix: Nix,
    flake: Path,
    scratch: Path,
) -> None:
    drifted = scratch / "nixpkgs"
    shutil.copytree(NIXPKGS_STUB, drifted)
    packages = drifted / "pkgs.nix"
    text = packages.read_text()
    packages.write_text(
        text.replace(
            'pname = "process-compose";\n    version = "1.94.0";',
            'pname = "process-compose";\n    version = "1.80.0";',
        )
    )
    assert packages.read_text() != text
    result = nix.eval(flake, "devShells.x86_64-linux.default.drvPath", stub=drifted, check=False)
    assert result.returncode != 0
    wanted = "nixpkgs gives process-compose 1.80.0, the project needs 1.87.0 or later"
    assert wanted in result.stderr


def test_a_misspelt_attribute_fails_evaluation(nix: Nix, flake: Path) -> None:
    path = flake / "flake.nix"
    path.write_text(path.read_text().replace("pkgs.gnumake", "pkgs.gnumak", 1))
    result = nix.eval(flake, "devShells.x86_64-linux.default.drvPath", check=False)
    assert result.returncode != 0 and "gnumak" in result.stderr
