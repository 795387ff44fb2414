"""The pre-commit hook's default `files:` (issue 22): the templates of a repository, not the JSON and YAML
beside them (a workflow, package.json, the pre-commit configuration), which `profile-expand lint` fails
with E1001. Matched with pre-commit's own filter, on this repository's files and on common layouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from pre_commit.commands.run import filter_by_include_exclude

ROOT = Path(__file__).resolve().parents[2]
(HOOK,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def linted(*paths: str) -> list[str]:
    """The paths pre-commit passes to the hook (no project `files:`, pre-commit's default `exclude: ^$`)."""
    return list(filter_by_include_exclude(paths, HOOK["files"], HOOK.get("exclude", "^$")))


def tracked() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


TEMPLATES = [
    "template.yaml",
    "guard.yaml",
    "examples/web-app.yaml",
    "tests/fixtures/lint/templates/bad/role_where_profile_expected.yaml",
    "templates/app.template",
    "infra/network.json",
    "cloudformation/stack.yml",
    "services/api/template.yaml",
    "stacks/action-runner.yaml",
]
NOT_TEMPLATES = [
    ".github/workflows/ci.yml",
    ".github/dependabot.yml",
    "action.yml",
    ".pre-commit-hooks.yaml",
    ".pre-commit-config.yaml",
    "package.json",
    "web/package-lock.json",
    "frontend/tsconfig.json",
    "cdk.json",
    "mkdocs.yml",
    "docker-compose.yml",
    ".gitlab-ci.yml",
    ".cfnlintrc.yaml",
    "infra/.cfnlintrc.yaml",
    ".vscode/settings.json",
    "node_modules/left-pad/package.json",
    ".aws-sam/build/template.yaml",
    "buildspec.yml",
    "README.md",
    "app.py",
]


@pytest.mark.parametrize("path", TEMPLATES)
def test_templates_are_linted(path: str) -> None:
    assert linted(path) == [path]


@pytest.mark.parametrize("path", NOT_TEMPLATES)
def test_the_files_beside_templates_are_not(path: str) -> None:
    assert linted(path) == []


def test_in_this_repository_the_templates_and_not_the_workflow_or_the_hooks() -> None:
    files = tracked()
    chosen = set(linted(*files))
    assert {"template.yaml", "guard.yaml", "examples/web-app.yaml"} <= chosen
    golden = {f for f in files if f.startswith("tests/golden/input/")}
    assert golden and golden <= chosen
    assert not chosen & {".github/workflows/ci.yml", "action.yml", ".pre-commit-hooks.yaml"}
