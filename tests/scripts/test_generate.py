"""`dev generate`: the files that list components follow core/components.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT
from scripts import generate
from scripts.templating import TemplateError, render

pytestmark = pytest.mark.fast  # files only: make test-fast runs it


def test_no_committed_generated_file_is_stale() -> None:
    assert generate.stale() == [], "run `dev generate` and commit the result"


def test_every_template_makes_a_committed_file() -> None:
    made = [output.path for output in generate.outputs() if output.text is not None]
    assert Path("process-compose.yaml") in made
    assert Path("deploy/k8s/base/kustomization.yaml") in made


def test_if_keeps_a_block_only_for_a_present_component() -> None:
    text = "a\n@if api\nb\n@end\nc\n"
    assert render(text, ["api"]) == "a\nb\nc\n"
    assert render(text, ["worker"]) == "a\nc\n"


def test_if_blocks_nest_and_indented_directives_work() -> None:
    text = "  @if api\nx\n    @if worker\ny\n    @end\n  @end\n"
    assert render(text, ["api"]) == "x\n"
    assert render(text, ["api", "worker"]) == "x\ny\n"
    assert render(text, ["worker"]) == ""


def test_plain_text_and_comments_pass_through() -> None:
    text = "# a comment: @if is only a directive alone on its line\nkey: value # why\n"
    assert render(text, []) == text


def test_components_repeats_a_fragment_per_present_component(tmp_path: Path) -> None:
    (tmp_path / "item").write_text("  - {name}.yaml\n")
    text = "resources:\n@components item\n"
    assert render(text, ["api", "beat"], tmp_path) == "resources:\n  - api.yaml\n  - beat.yaml\n"


@pytest.mark.parametrize("text", ["@if api\nx\n", "x\n@end\n"])
def test_unbalanced_directives_are_an_error(text: str) -> None:
    with pytest.raises(TemplateError):
        render(text, ["api"])


def test_an_absent_component_loses_its_blocks_and_its_file() -> None:
    by_path = {o.path: o.text for o in generate.outputs(("postgres", "redis", "api"))}
    assert by_path[Path("deploy/k8s/base/migrate.yaml")] is None
    assert "migrate.yaml" not in (by_path[Path("deploy/k8s/base/kustomization.yaml")] or "")
    assert "\n  migrate:" not in (by_path[Path("process-compose.yaml")] or "")
    assert "\n  api:" in (by_path[Path("process-compose.yaml")] or "")


def copy_generated(tmp_path: Path) -> Path:
    for output in generate.outputs():
        target = tmp_path / output.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / output.path).exists():
            shutil.copyfile(ROOT / output.path, target)
    return tmp_path


def test_stale_names_an_edited_file_and_write_repairs_it(tmp_path: Path) -> None:
    root = copy_generated(tmp_path)
    (root / "process-compose.yaml").write_text("edited by hand\n")
    assert generate.stale(root) == [Path("process-compose.yaml")]
    assert generate.write(root) == [Path("process-compose.yaml")]
    assert generate.stale(root) == []


def test_dev_generate_check_exits_1_naming_the_stale_file(tmp_path: Path) -> None:
    # A copy of the code and of what it generates, so that the checkout is never edited (other
    # tests read it at the same time under `make test-fast`).
    root = copy_generated(tmp_path)
    no_caches = shutil.ignore_patterns("__pycache__")
    for package in ("core", "scripts"):
        shutil.copytree(ROOT / package, root / package, ignore=no_caches)
    template = root / "scripts/templates/process-compose.yaml"
    template.write_text(template.read_text() + "# added to the template\n")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.dev", "generate", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("stale: ") == 1, result.stdout
    assert "stale: process-compose.yaml" in result.stdout


@pytest.mark.parametrize("names", [("postgres", "redis", "migrate", "api"), generate.present()])
def test_launch_json_stays_valid_json_for_any_set_of_components(names: tuple[str, ...]) -> None:
    text = {o.path: o.text for o in generate.outputs(names)}[Path(".vscode/launch.json")] or ""
    launch = json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE))
    attach = launch["compounds"][0]["configurations"]
    assert sorted(attach) == sorted(f"Attach: {n}" for n in names if f'"Attach: {n}"' in text)
    assert ("Attach: worker" in attach) == ("worker" in names)


def test_compose_without_background_work_or_logserver_names_none_of_them() -> None:
    names = ("postgres", "redis", "migrate", "api")
    text = {o.path: o.text for o in generate.outputs(names)}[Path("compose.yaml")] or ""
    compose = yaml.safe_load(text)
    assert sorted(compose["services"]) == sorted(names)
    assert "logserver" not in compose["x-after-migrate"]  # part: logserver
    assert sorted(compose["volumes"]) == ["postgres-data", "redis-data"]
    assert "LOGSERVER_HOST" not in compose["x-app"]["environment"]  # part: logserver
