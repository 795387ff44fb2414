"""CI integrations: the GitHub Action's lint script, the pre-commit hook through a real `pre-commit
try-repo`, and this repository's workflow running the README's test command.

The Action itself runs only on GitHub; its lint step is the script tested here, under the environment the
action.yml step gives it. `pre-commit try-repo` pip-installs this repository into pre-commit's own
environment (from PyPI, as for a user), so the first run takes a while; PRE_COMMIT_HOME is per test session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
SCRIPT = ROOT / "scripts" / "github_action_lint.py"
LINT = ROOT / "tests" / "fixtures" / "lint" / "templates"
BAD = LINT / "bad"
GOOD = LINT / "good"
SAM = ROOT / "tests" / "fixtures" / "lint" / "sam"


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return loaded


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "PRE_COMMIT"))}
    # The action puts its venv's bin first on PATH; here that is the venv running the tests.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def run_action_script(
    cwd: Path, tmp_path: Path, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    env = clean_env(GITHUB_OUTPUT=str(output_file), **{f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
    return result, outputs


# -- the GitHub Action ---------------------------------------------------------------------------------


def test_action_is_composite_and_its_lint_step_runs_the_script_with_inputs_from_the_environment() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    (lint,) = [step for step in spec["runs"]["steps"] if step.get("id") == "lint"]
    assert lint["run"] == 'python "$GITHUB_ACTION_PATH/scripts/github_action_lint.py"'
    assert SCRIPT.is_file()
    # Every input the script reads is set by the step, from the action's inputs.
    read = set(re.findall(r'os\.environ\.get\("(INPUT_[A-Z_]+)"', SCRIPT.read_text()))
    assert read == set(lint["env"])
    for name, value in lint["env"].items():
        input_name = name.removeprefix("INPUT_").lower().replace("_", "-")
        assert value == f"${{{{ inputs.{input_name} }}}}" and input_name in spec["inputs"]
    # No `${{ ... }}` pasted into any shell text (script injection through a template name or input).
    for step in spec["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")
    # The install step installs the action's own checkout, with the SARIF formatter's and SAM's extras.
    (install,) = [s for s in spec["runs"]["steps"] if "pip install" in s.get("run", "")]
    assert '"${GITHUB_ACTION_PATH}[sam,sarif,terraform]"' in install["run"]


def test_action_install_step_gives_a_venv_that_lints_sam_templates(tmp_path: Path) -> None:
    """The install step's own shell text, run as the runner would (a clean venv), then the lint step."""
    (install,) = [s for s in action()["runs"]["steps"] if "pip install" in s.get("run", "")]
    github_path = tmp_path / "github_path"
    env = clean_env(
        GITHUB_ACTION_PATH=str(ROOT),
        RUNNER_TEMP=str(tmp_path),
        PYTHON=sys.executable,
        GITHUB_PATH=str(github_path),
    )
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run(
        ["bash", "-e", "-c", install["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    (venv_bin,) = github_path.read_text().split()
    workspace = tmp_path / "repo"
    shutil.copytree(SAM, workspace / "sam")
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    lint_env = {
        **clean_env(
            GITHUB_OUTPUT=str(output_file), INPUT_TEMPLATES="sam/*.yaml", INPUT_SARIF_FILE="out.sarif"
        ),
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    linted = subprocess.run(
        [str(Path(venv_bin) / "python"), str(SCRIPT)],
        cwd=workspace,
        env=lint_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    results = [r for run in json.loads((workspace / "out.sarif").read_text())["runs"] for r in run["results"]]
    assert not any("aws-sam-translator" in r["message"]["text"] for r in results), results
    by_file = {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"]) for r in results
    }
    assert ("sam/worker_role_typo.yaml", "E9002") in by_file
    assert not any(uri == "sam/clean.yaml" for uri, _ in by_file)


def test_action_script_writes_sarif_annotations_and_outputs(tmp_path: Path) -> None:
    workspace = tmp_path / "repo"
    shutil.copytree(LINT, workspace / "templates")
    result, outputs = run_action_script(
        workspace,
        tmp_path,
        templates="templates/bad/*.yaml\ntemplates/good/**/*.yaml",
        sarif_file="out.sarif",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sarif = json.loads((workspace / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = [r for run in sarif["runs"] for r in run["results"]]
    rules = {r["ruleId"] for r in results}
    assert {"E9001", "E9002", "W9001", "W9002"} <= rules
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    # Findings point at the files as the workflow named them (relative to the workspace), never at a copy.
    assert uris <= {f"templates/bad/{p.name}" for p in BAD.iterdir()}
    assert outputs["sarif-file"] == "out.sarif"
    assert outputs["findings"] == str(len(results))
    assert outputs["exit-code"] != "0"  # errors found: the action's last step fails the job
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == len(results)
    assert any(
        a.startswith("::error file=templates/bad/role_where_profile_expected.yaml,title=E9001,line=")
        for a in annotations
    )


def test_action_script_on_clean_templates_reports_nothing_and_passes(tmp_path: Path) -> None:
    workspace = tmp_path / "repo"
    shutil.copytree(GOOD, workspace / "templates")
    result, outputs = run_action_script(workspace, tmp_path, templates="templates/*.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    sarif = json.loads((workspace / "profile-expand.sarif").read_text())
    assert [r for run in sarif["runs"] for r in run["results"]] == []
    assert outputs == {"sarif-file": "profile-expand.sarif", "exit-code": "0", "findings": "0"}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"templates": "nothing/*.yaml"}, "'nothing/*.yaml' matched no file"),
        ({"templates": ""}, "the `templates` input is empty"),
        ({"templates": "*.yaml", "fail_on": "sometimes"}, "fail-on must be one of"),
    ],
)
def test_action_script_refuses_bad_inputs_by_name(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    (tmp_path / "a.yaml").write_text("Resources: {}\n")
    result, outputs = run_action_script(tmp_path, tmp_path, **inputs)
    assert result.returncode == 2
    assert message in result.stderr and "::error title=profile-expand action::" in result.stdout
    assert outputs == {}


# -- pre-commit ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(project: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(PRE_COMMIT_HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("VIRTUAL_ENV", None)
    command = [str(BIN / "pre-commit"), "try-repo", str(ROOT), "profile-expand-lint", "--verbose", "--files"]
    for attempt in range(2):
        result = subprocess.run(
            [*command, *files],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )
        # pre-commit exits 3 when setting up the hook's environment failed (a network blip while pip
        # installs from PyPI): one retry, with the half-made environment removed first.
        if result.returncode != 3 or attempt:
            break
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's git repository holding templates (pre-commit runs inside one)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copytree(LINT, tmp_path / "templates")
    shutil.copytree(SAM, tmp_path / "templates" / "sam")
    return tmp_path


def test_pre_commit_hook_fails_on_a_mistake_and_passes_clean_templates(
    project: Path, pre_commit_home: Path
) -> None:
    bad = try_repo(project, pre_commit_home, "templates/bad/role_where_profile_expected.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "profile-expand lint" in bad.stdout and "Failed" in bad.stdout
    assert "E9001" in bad.stdout and "templates/bad/role_where_profile_expected.yaml:" in bad.stdout

    good = try_repo(project, pre_commit_home, "templates/good/shorthand.yaml", "templates/good/profiles.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


def test_pre_commit_hook_lints_sam_templates(project: Path, pre_commit_home: Path) -> None:
    clean = try_repo(project, pre_commit_home, "templates/sam/clean.yaml")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    typo = try_repo(project, pre_commit_home, "templates/sam/worker_role_typo.yaml")
    assert typo.returncode == 1, typo.stdout + typo.stderr
    assert "E9002" in typo.stdout and "WorkerRol" in typo.stdout
    assert "profile-expand[sam]" not in typo.stdout  # the hook's environment can translate SAM


def test_pre_commit_hook_installs_the_sam_and_terraform_extras_of_the_package() -> None:
    import tomllib

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert hook["additional_dependencies"] == [*extras["sam"], *extras["terraform"]]


# -- this repository's workflow ------------------------------------------------------------------------


def test_ci_workflow_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :]
    (test_command,) = re.findall(r"^(make test)\b", quick_start, flags=re.MULTILINE)[:1]
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(step.get("uses", "").startswith("actions/checkout@") for step in steps)
    runs = [step["run"] for step in steps if "run" in step]
    # It runs .ci/run, which is the README's test command on a fresh clone.
    assert "bash .ci/run" in runs
    ci_run = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci_run[-1] == test_command
