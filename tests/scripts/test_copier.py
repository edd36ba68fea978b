"""`copier copy` and `copier update` (copier.yml) with the real copier and git: a template
repository is made from this checkout in tmp_path, tagged, and projects are rendered from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml

from core.settings import DEFAULT_PORTS, ROOT, load_settings
from scripts import stack
from scripts.ports import free_port
from scripts.rename import (
    SKIPPED,
    authors_line,
    first_commit,
    production_env,
    rename,
    replace_once,
)
from scripts.supervise import kill, leftovers
from tests.support.checkout import fresh_copy
from tests.support.paths import fast_test_files
from tests.support.processes import ServiceProcess, wait_for
from tests.support.stack import exercise_api, wait_until_gone

COPIER = Path(sys.executable).with_name("copier")
OLD_NAMES = ("fastapi-stack", "FastAPI stack")
ALL_PARTS = ["background", "flower", "bench", "devcontainer", "flake", "containers", "logserver"]
OWN_QUESTION = {"logserver": "keep_logserver"}  # parts added after `parts`: a yes/no each


def parts_data(kept: list[str]) -> list[str]:
    """The answers that keep the parts `kept` (and remove the others)."""
    listed = [part for part in kept if part not in OWN_QUESTION]
    own = [f"{question}={part in kept}" for part, question in OWN_QUESTION.items()]
    return [f"parts=[{', '.join(listed)}]", *own]


def kept_in(answers: dict[str, object]) -> list[str]:
    """The parts an answers file keeps, in ALL_PARTS's order."""
    listed = answers["parts"]
    assert isinstance(listed, list)
    return [
        part
        for part in ALL_PARTS
        if (answers[OWN_QUESTION[part]] if part in OWN_QUESTION else part in listed)
    ]


def git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
    ).stdout


def copier(where: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the copier CLI in `where`, as a user of `uvx copier` would (uv on PATH: `dev prune`
    runs through it); git commits carry a test identity."""
    identity = {"NAME": "test", "EMAIL": "test@localhost"}
    env = os.environ | {
        f"GIT_{role}_{key}": value
        for role in ("AUTHOR", "COMMITTER")
        for key, value in identity.items()
    }
    env["PATH"] = os.pathsep.join([str(Path(uv()).parent), env["PATH"]])
    done = subprocess.run(
        [str(COPIER), *args], cwd=where, env=env, capture_output=True, text=True, timeout=240
    )
    if check and done.returncode:
        pytest.fail(f"copier {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a repository of its own: this checkout's files, committed, tagged v1."""
    template = tmp_path_factory.mktemp("copier") / "template"
    fresh_copy(template)
    git(template, "tag", "v1")
    return template


@pytest.fixture
def own_template(template: Path, tmp_path: Path) -> Path:
    """A clone of the template that a test may give later versions."""
    subprocess.run(["git", "clone", "--quiet", str(template), str(tmp_path / "own")], check=True)
    return tmp_path / "own"


def copy(template: Path, project: Path, *data: str) -> None:
    args = [arg for item in ("project_name=my-shop", *data) for arg in ("--data", item)]
    copier(project.parent, "copy", "--trust", "--defaults", *args, str(template), project.name)


def files_with(root: Path, *needles: str) -> list[str]:
    """The project's text files that contain one of `needles` (machine-local folders aside)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not SKIPPED & set(path.relative_to(root).parts):
            text = path.read_text(errors="replace")
            if any(needle in text for needle in needles):
                found.append(str(path.relative_to(root)))
    return found


def dev_generate_check(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own `dev generate --check`, run by this checkout's interpreter (cwd first
    on sys.path, so the project's modules are the ones imported)."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.dev", "generate", "--check"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )


def uv() -> str:
    found = shutil.which("uv") or ROOT / ".tools/uv/bin/uv"
    assert Path(found).exists(), "no uv: run make bootstrap"
    return str(found)


@pytest.fixture(scope="module")
def project(template: Path) -> Path:
    """A project copied with the default parts (read-only for the tests that take it)."""
    project = template.parent / "my-shop"
    copy(
        template,
        project,
        "description=Orders, paid and shipped.",
        "author=Ada Lovelace <ada@example.org>",
        "port_offset=300",
    )
    return project


def test_copy_names_the_project_and_records_the_answers(template: Path, project: Path) -> None:
    assert files_with(project, *OLD_NAMES) == []
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "my-shop"' in pyproject
    assert 'description = "Orders, paid and shipped."' in pyproject
    assert 'title="my-shop"' in (project / "app/main.py").read_text()
    assert "image: ${APP_IMAGE:-my-shop:latest}" in (project / "compose.yaml").read_text()
    assert "\nname: my-shop " in (project / "process-compose.yaml").read_text()

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1"
    assert answers["_src_path"] == str(template)
    assert answers["project_slug"] == "my-shop"
    assert kept_in(answers) == ALL_PARTS
    assert (answers["author"], answers["port_offset"]) == ("Ada Lovelace <ada@example.org>", 300)


def test_copy_sets_the_author_and_port_offset_and_generates_production_secrets(
    project: Path,
) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    assert "\nPORT_OFFSET=300\n" in (project / ".env.example").read_text()

    production = project / ".env.production"
    assert production.stat().st_mode & 0o777 == 0o600
    values = dict(
        line.split("=", 1)
        for line in production.read_text().splitlines()
        if line and not line.startswith("#")
    )
    example = (project / ".env.production.example").read_text()
    secret_names = [
        line.split("=")[0] for line in example.splitlines() if line.endswith("=CHANGE-ME")
    ]
    assert {"POSTGRES_PASSWORD", "LOGSERVER_TOKEN", "FLOWER_PASSWORD"} <= set(secret_names)
    secrets = [values[name] for name in secret_names]
    assert all(len(secret) >= 40 for secret in secrets) and len(set(secrets)) == len(secrets)
    answers = (project / ".copier-answers.yml").read_text()
    assert not any(secret in answers for secret in secrets)
    assert "CHANGE-ME" not in values.values()
    assert "removed_parts" not in answers  # computed, never stored

    for template_only in ("copier.yml", "scripts/rename.py", "tests/scripts/test_copier.py"):
        assert not (project / template_only).exists(), template_only
    # Its own repository: one commit holding every file, no template history or tags, clean.
    assert git(project, "rev-list", "--all").count("\n") == 1
    assert git(project, "log", "--format=%an <%ae> %s") == (
        "test <test@localhost> A new project from the template\n"
    )
    assert git(project, "tag") == "" and git(project, "status", "--porcelain") == ""
    assert "scripts/rename.py" not in git(project, "ls-files")

    checked = dev_generate_check(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # What a cut leaves for ruff to fix (an import only the cut lines used): copier prunes with
    # the dev group, so ruff's fixes are made; the whole `make lint` runs on the minimal project.
    ruff = Path(sys.executable).with_name("ruff")
    linted = subprocess.run(
        [str(ruff), "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    # The renamed lock still matches pyproject.toml: the project's `make bootstrap` (uv sync
    # --locked) accepts it.
    locked = subprocess.run(
        [uv(), "lock", "--check"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert locked.returncode == 0, locked.stderr


def test_the_templates_own_answers_reproduce_the_repository(template: Path, tmp_path: Path) -> None:
    """No second copy of any file: with the template's own name and description, the project is
    the repository, byte for byte and executable bit for executable bit."""
    description = tomllib.loads((template / "pyproject.toml").read_text())["project"]["description"]
    project = tmp_path / "itself"
    copy(
        template,
        project,
        "project_name=FastAPI stack",
        "project_slug=fastapi-stack",
        f"description={description}",
    )
    template_only = {
        "copier.yml",
        "scripts/rename.py",
        "tests/scripts/test_copier.py",
        "{{_copier_conf.answers_file}}.jinja",
    }
    expected = set(git(template, "ls-files").splitlines()) - template_only
    made = {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }
    assert made == expected | {".copier-answers.yml", ".env.production"}  # generated secrets
    for name in sorted(expected):
        mine, theirs = project / name, template / name
        assert mine.read_bytes() == theirs.read_bytes(), name
        assert os.access(mine, os.X_OK) == os.access(theirs, os.X_OK), name


@pytest.mark.timeout(900)
def test_the_projects_own_fast_tier_passes(project: Path) -> None:
    assert_own_fast_tier_passes(project)


def assert_own_fast_tier_passes(project: Path) -> None:
    """The project's `make test-fast` in its own .venv, synced from its lock by uv (from uv's
    cache: a second or so), with the checkout's .tools."""
    python = os.path.realpath(sys.executable)  # the interpreter, as scripts/bootstrap.sh picks it
    subprocess.run(
        [uv(), "sync", "--locked", "--quiet", "--python", python],
        cwd=project,
        env=os.environ | {"UV_PYTHON_DOWNLOADS": "never"},
        check=True,
        timeout=600,
    )
    link_tools(project)
    modules = [str(path) for path in fast_test_files(project)]
    done = subprocess.run(
        [".venv/bin/pytest", "-m", "fast", "-q", "-p", "no:cacheprovider", *modules],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1], done.stdout[-2000:]


# Prints the default of each setting named in argv, as the project's Settings class has it.
DEFAULTS = """
import sys
from core.settings import Settings
print(*(Settings.model_fields[name].default for name in sys.argv[1:]))
"""


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_update_brings_a_later_version_and_keeps_the_users_edits(
    own_template: Path, tmp_path: Path
) -> None:
    template = own_template
    project = tmp_path / "my-shop"
    copy(template, project)  # and its first commit

    # The user's edits: a line at the end of a page the template changes at its start, a changed
    # setting a few lines from where the template adds one, and a module of their own.
    page = project / "docs/components.md"
    page.write_text(page.read_text() + "\nOur own note on components.\n")
    replace(
        project / "core/settings.py", "api_workers: int = Field(1,", "api_workers: int = Field(2,"
    )
    (project / "app/hello.py").write_text('"""Our own module."""\n')
    git(project, "add", "--all")
    git(project, "-c", "user.name=u", "-c", "user.email=u@localhost", "commit", "-qm", "edit")

    # The template's v2: a changed line there, a new setting, and a new page that names it.
    replace(
        template / "docs/components.md",
        "A component is a process of the stack",
        "A component is a process",
    )
    replace(
        template / "core/settings.py",
        'bind_host: str = "127.0.0.1"\n',
        'bind_host: str = "127.0.0.1"\n    greeting: str = "hello"\n',
    )
    (template / "docs/changes.md").write_text("# What changed in fastapi-stack\n")
    git(template, "add", "--all")
    git(template, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "v2")
    git(template, "tag", "v2")

    checked = copier(project, "check-update", "--output-format", "json")
    assert json.loads(checked.stdout)["update_available"] is True, checked.stdout
    copier(project, "update", "--trust", "--defaults")
    git(project, "add", "--all")  # check-update reads the committed answers
    git(project, "-c", "user.name=u", "-c", "user.email=u@localhost", "commit", "-qm", "v2")
    checked = copier(project, "check-update", "--output-format", "json")
    assert json.loads(checked.stdout)["update_available"] is False, checked.stdout

    text = page.read_text()
    assert "A component is a process: one row" in text
    assert text.endswith("\nOur own note on components.\n")
    assert (project / "app/hello.py").exists()
    defaults = subprocess.run(
        [sys.executable, "-c", DEFAULTS, "api_workers", "greeting"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert defaults == ["2", "hello"]  # the user's value, the template's new setting
    assert (project / "docs/changes.md").read_text() == "# What changed in my-shop\n"
    assert files_with(project, *OLD_NAMES, "<<<<<<<", ">>>>>>>") == []
    assert list(project.rglob("*.rej")) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["_commit"], answers["project_name"], kept_in(answers)) == (
        "v2",
        "my-shop",
        ALL_PARTS,
    )
    changed = git(project, "diff", "--name-status", "HEAD~", "HEAD").splitlines()
    assert sorted(changed) == [
        "A\tdocs/changes.md",
        "M\t.copier-answers.yml",
        "M\tcore/settings.py",
        "M\tdocs/components.md",
    ]
    checked = dev_generate_check(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # What a cut leaves for ruff to fix (an import only the cut lines used): copier prunes with
    # the dev group, so ruff's fixes are made; the whole `make lint` runs on the minimal project.
    ruff = Path(sys.executable).with_name("ruff")
    linted = subprocess.run(
        [str(ruff), "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("project_slug=My_Shop", "The slug must be lowercase letters, digits and single hyphens"),
        (f"project_slug={'a' * 27}", "The slug must be 26 characters at most"),
        ('project_name=say "hi"', 'The name cannot hold " or \\'),
        ("parts=[flower, bench]", "Flower needs the background work"),
        ("author=Ada <nope>", 'The author is "Name <email>" or "Name"'),
        ("port_offset=70000", "The port offset is 0 to 20000"),
    ],
)
def test_a_wrong_answer_is_refused(
    template: Path, tmp_path: Path, answer: str, message: str
) -> None:
    done = copier(
        tmp_path, "copy", "--trust", "--defaults", "--data", answer, str(template), "p", check=False
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "p").exists()


def test_a_version_without_prune_refuses_to_remove_parts_in_one_line(
    own_template: Path, tmp_path: Path
) -> None:
    if (own_template / "scripts/prune.py").exists():
        git(own_template, "rm", "--quiet", "scripts/prune.py")
        git(own_template, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "-")
    project = tmp_path / "my-shop"
    done = copier(
        tmp_path,
        *("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", "parts=[bench]"),
        *(str(own_template), project.name),
        check=False,
    )
    assert done.returncode != 0
    assert (
        "copier: this template version cannot remove parts (no 'dev prune'): keep them all\n"
        in done.stderr
    )
    assert not project.exists()  # copier removes what it made


# A path that each part has while it is kept and loses when it is removed.
PART_PATHS = {
    "background": "worker",
    "flower": "deploy/k8s/base/flower.yaml",
    "bench": "bench",
    "devcontainer": ".devcontainer",
    "flake": "flake.nix",
    "containers": "tests/containers",
    "logserver": "logserver",
}


def copy_kept(template: Path, project: Path, kept: list[str]) -> None:
    """A project with only the parts `kept`: copied, then checked against its answers."""
    if not (ROOT / "scripts/prune.py").exists():
        pytest.skip("scripts/prune.py (dev prune) is not in this checkout: parts cannot be removed")
    copy(template, project, *parts_data(kept))
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert kept_in(answers) == kept
    assert_parts(project, kept)


def assert_parts(project: Path, kept: list[str]) -> None:
    for part, path in PART_PATHS.items():
        assert (project / path).exists() == (part in kept), path
    assert files_with(project, *OLD_NAMES, "<<<<<<<", ">>>>>>>") == []
    checked = dev_generate_check(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # What a cut leaves for ruff to fix (an import only the cut lines used): copier prunes with
    # the dev group, so ruff's fixes are made; the whole `make lint` runs on the minimal project.
    ruff = Path(sys.executable).with_name("ruff")
    linted = subprocess.run(
        [str(ruff), "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    "removed",
    [("background", "flower"), *((part,) for part in ALL_PARTS if part != "background")],
    ids="+".join,
)
def test_each_part_is_removed_alone(
    template: Path, tmp_path: Path, removed: tuple[str, ...]
) -> None:
    copy_kept(template, tmp_path / "my-shop", [part for part in ALL_PARTS if part not in removed])


@pytest.mark.timeout(900)
def test_the_minimal_project_passes_its_own_fast_tier(template: Path, tmp_path: Path) -> None:
    """Every part removed: api, postgres and redis."""
    copy_kept(template, tmp_path / "my-shop", [])
    assert_own_fast_tier_passes(tmp_path / "my-shop")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTEST_ADDOPTS"}}
    linted = subprocess.run(
        ["make", "lint"], cwd=tmp_path / "my-shop", env=env, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout[-4000:] + linted.stderr[-4000:]


def link_tools(project: Path) -> None:
    """The project's .tools (uv, process-compose, which `make bootstrap` may have to build with
    Go) is a link to the checkout's."""
    (project / ".tools").symlink_to(ROOT / ".tools", target_is_directory=True)


@pytest.mark.stack
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kept", [ALL_PARTS, []], ids=["defaults", "minimal"])
def test_make_dev_serves_the_new_project_and_make_down_leaves_nothing(
    template: Path, tmp_path: Path, kept: list[str]
) -> None:
    """The project's own `make dev` (its bootstrap included: .venv from its lock, .env, its dev
    secrets) on free ports until every process is ready; the api serves, a task runs if the
    background work is kept; then its `make down` stops every process and frees every port."""
    project = (
        tmp_path / "checkout"
    )  # not the slug: process-compose names it by its folder if unnamed
    copy_kept(template, project, kept)
    link_tools(project)
    values = {name.upper(): str(free_port()) for name in DEFAULT_PORTS}
    values |= {"STATE_DIR": str(project / ".state"), "PORT_OFFSET": "0", "DEBUG": ""}
    settings = load_settings(**{name.lower(): value for name, value in values.items()})
    env = {name: value for name, value in os.environ.items() if "MAKE" not in name} | values
    env["PATH"] = os.pathsep.join([str(Path(uv()).parent), env["PATH"]])
    expected = {"api", "migrate", "postgres", "redis"}
    expected |= {"worker", "beat", "flower"} if "background" in kept else set()
    expected |= {"logserver"} if "logserver" in kept else set()

    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    up = ServiceProcess("make-dev", ["make", "dev"], env, log_dir, cwd=project).start()
    try:
        # The bootstrap syncs .venv from uv's cache first.
        up.wait_until(lambda: stack.all_ready(settings), timeout=600)
        assert {entry["name"] for entry in stack.processes(settings)} == expected
        state = subprocess.run(
            [stack.binary(), "project", "state", *stack.server_args(settings)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "/my-shop" in state, state  # process-compose's project: host/my-shop
        base = f"http://127.0.0.1:{settings.api_port}"
        exercise_api(base)
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/openapi.json").json()["info"]["title"] == "my-shop"
            if "background" in kept:
                queued = http.post("/api/v1/tasks/ping")
                assert queued.status_code == 202, queued.text
                task = f"/api/v1/tasks/{queued.json()['id']}"
                wait_for(lambda: http.get(task).json()["state"] == "SUCCESS", 60, "ping to succeed")
            else:
                assert http.post("/api/v1/tasks/ping").status_code == 404
    except BaseException:
        subprocess.run(["make", "down"], cwd=project, env=env, capture_output=True, timeout=120)
        up.stop()
        kill(leftovers(settings.state_dir, {})[0])
        raise
    down = subprocess.run(
        ["make", "down"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert down.returncode == 0, down.stdout + down.stderr
    assert up.process is not None and up.process.wait(timeout=60) == 0, up.output()[-3000:]
    ports = {name: settings.port(name) for name in DEFAULT_PORTS}
    wait_until_gone(settings)
    assert leftovers(settings.state_dir, ports) == ([], [])


def update_to_a_new_page(template: Path, project: Path) -> None:
    """Gives the template a v2 that adds a page, and updates the project to it."""
    (template / "docs/changes.md").write_text("# What changed\n")
    git(template, "add", "--all")
    git(template, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "v2")
    git(template, "tag", "v2")
    copier(project, "update", "--trust", "--defaults")
    assert (project / "docs/changes.md").exists()


def test_update_keeps_the_parts_removed(own_template: Path, tmp_path: Path) -> None:
    project = tmp_path / "my-shop"
    copy_kept(own_template, project, ["background", "flower"])  # and its first commit
    update_to_a_new_page(own_template, project)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert kept_in(answers) == ["background", "flower"]
    assert_parts(project, ["background", "flower"])
    assert list(project.rglob("*.rej")) == []


def test_update_keeps_a_part_the_project_was_made_before(
    own_template: Path, tmp_path: Path
) -> None:
    """A project made before the template offered the log server as a part has no answer for
    it: an update keeps its log server (it does not read the absence as "removed")."""
    project = tmp_path / "my-shop"
    copy(own_template, project)
    answers = project / ".copier-answers.yml"
    text = answers.read_text()
    assert "\nkeep_logserver: true\n" in text
    answers.write_text(text.replace("\nkeep_logserver: true\n", "\n"))
    git(project, "-c", "user.name=u", "-c", "user.email=u@localhost", "commit", "-qam", "old")
    update_to_a_new_page(own_template, project)
    assert yaml.safe_load(answers.read_text())["keep_logserver"] is True
    assert_parts(project, ALL_PARTS)


@pytest.mark.fast
def test_rename_replaces_every_occurrence_once(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "fastapi-stack"\ndescription = "old"\n'
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/app.yaml").write_text("image: fastapi-stack\n# FastAPI stack\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/untouched").write_text("fastapi-stack\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfefastapi-stack")

    changed = rename(tmp_path, "fastapi-stack-shop", "Shop", 'say "hi"')
    assert sorted(map(str, changed)) == ["deploy/app.yaml", "pyproject.toml"]
    assert rename(tmp_path, "fastapi-stack-shop", "Shop", 'say "hi"') == []  # idempotent
    assert (tmp_path / "pyproject.toml").read_text() == (
        '[project]\nname = "fastapi-stack-shop"\ndescription = "say \\"hi\\""\n'
    )
    assert (tmp_path / "deploy/app.yaml").read_text() == "image: fastapi-stack-shop\n# Shop\n"
    assert (tmp_path / ".venv/untouched").read_text() == "fastapi-stack\n"
    assert (tmp_path / "binary").read_bytes() == b"\xff\xfefastapi-stack"


@pytest.mark.fast
def test_replace_once_leaves_the_new_name_alone() -> None:
    assert replace_once(
        "a fastapi-stack-x b fastapi-stack", "fastapi-stack", "fastapi-stack-x"
    ) == ("a fastapi-stack-x b fastapi-stack-x")
    assert replace_once("xfastapi-stack", "fastapi-stack", "xfastapi-stack") == "xfastapi-stack"


@pytest.mark.fast
def test_rename_sets_the_authors_and_port_offset(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndescription = "d"\nx = 1\n')
    (tmp_path / ".env.example").write_text("# ports\nPORT_OFFSET=0\n")
    rename(tmp_path, "p", "P", "d", "Ada <ada@example.org>", 300)
    assert rename(tmp_path, "p", "P", "d", "Ada <ada@example.org>", 300) == []  # idempotent
    assert (tmp_path / "pyproject.toml").read_text() == (
        '[project]\nname = "p"\ndescription = "d"\n'
        'authors = [{ name = "Ada", email = "ada@example.org" }]\nx = 1\n'
    )
    assert (tmp_path / ".env.example").read_text() == "# ports\nPORT_OFFSET=300\n"
    rename(tmp_path, "p", "P", "d", "", 0)  # an update that drops the author
    assert "authors" not in (tmp_path / "pyproject.toml").read_text()
    assert authors_line("Ada") == 'authors = [{ name = "Ada" }]\n'
    with pytest.raises(ValueError, match="Name <email>"):
        authors_line("Ada <not-an-email>")


@pytest.mark.fast
def test_production_env_generates_each_secret_once_and_privately(tmp_path: Path) -> None:
    (tmp_path / ".env.production.example").write_text(
        "A=CHANGE-ME\nB=CHANGE-ME\nC=kept\n# D=Bearer%20CHANGE-ME\n"
    )
    written = production_env(tmp_path)
    assert written == tmp_path / ".env.production"
    assert written.stat().st_mode & 0o777 == 0o600
    lines = written.read_text().splitlines()
    assert lines[2:] == ["C=kept", "# D=Bearer%20CHANGE-ME"]
    a, b = (line.split("=", 1)[1] for line in lines[:2])
    assert a != b and len(a) >= 40 and "CHANGE-ME" not in a + b
    assert production_env(tmp_path) is None  # an existing file is left alone
    assert written.read_text().splitlines() == lines


def home_with_gitconfig(monkeypatch: pytest.MonkeyPatch, home: Path, config: str) -> None:
    """git's only configuration is `config`, in `home`: no GIT_* variables, no system config."""
    for name in [name for name in os.environ if name.startswith("GIT_")]:
        monkeypatch.delenv(name)
    home.mkdir()
    (home / ".gitconfig").write_text(config)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.mark.fast
def test_first_commit_commits_as_git_or_the_author_or_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("by-author", "nobody", "configured"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.txt").write_text("a\n")
    # No identity, and none guessed from the host (user.useConfigOnly).
    home_with_gitconfig(monkeypatch, tmp_path / "home", "[user]\n\tuseConfigOnly = true\n")

    said = first_commit(tmp_path / "by-author", "Ada Lovelace <ada@example.org>")
    assert said == (
        "made a git repository with every file in a first commit"
        " ('A new project from the template')"
    )
    assert git(tmp_path / "by-author", "log", "--format=%an <%ae>|%cn <%ce>|%s") == (
        "Ada Lovelace <ada@example.org>|Ada Lovelace <ada@example.org>"
        "|A new project from the template\n"
    )
    assert git(tmp_path / "by-author", "status", "--porcelain") == ""

    said = first_commit(tmp_path / "nobody", "Ada Lovelace")  # a name, no email
    assert "could not commit (git has no identity" in said
    assert git(tmp_path / "nobody", "diff", "--cached", "--name-only") == "a.txt\n"
    assert git(tmp_path / "nobody", "rev-list", "--all") == ""

    # git's own identity wins over the answer.
    identity = "[user]\n\tname = Grace\n\temail = grace@example.org\n"
    home_with_gitconfig(monkeypatch, tmp_path / "home2", identity)
    first_commit(tmp_path / "configured", "Ada <ada@example.org>")
    assert git(tmp_path / "configured", "log", "--format=%an <%ae>") == (
        "Grace <grace@example.org>\n"
    )

    # Inside a work tree already (a monorepo): nothing is made or committed.
    (tmp_path / "configured/sub").mkdir()
    (tmp_path / "configured/sub/b.txt").write_text("b\n")
    said = first_commit(tmp_path / "configured/sub", "Ada <ada@example.org>")
    assert said.startswith(f"inside the git work tree {tmp_path / 'configured'}:")
    assert not (tmp_path / "configured/sub/.git").exists()
    assert git(tmp_path / "configured", "rev-list", "--all").count("\n") == 1
