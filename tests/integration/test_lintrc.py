"""`profile-expand cfnlintrc`: after it, `sam validate --lint` and plain cfn-lint accept the shorthand.

They run as a user runs them, in the project folder, where both read `.cfnlintrc`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from profile_expand.cli.main import main

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
SAM_TEMPLATE = Path(__file__).parent / "templates" / "lintrc" / "sam_shorthand.yaml"
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0"}


def cfn_lint(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cfn-lint"), *args], cwd=project, env=ENV, capture_output=True, text=True, check=False
    )


def sam_validate(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template", "template.yaml"],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(SAM_TEMPLATE, tmp_path / "template.yaml")
    (tmp_path / ".cfnlintrc").write_text(
        "# the team's settings\nignore_checks:\n  - W3005\nregions: [eu-west-1]\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sam_validate_and_cfn_lint_pass_once_the_file_is_merged(project: Path) -> None:
    # Before: both reject IamRole (the failure users meet).
    before = sam_validate(project)
    assert before.returncode != 0 and "E3002" in before.stdout + before.stderr
    assert "IamRole" in cfn_lint(project, "template.yaml").stdout

    assert main(["cfnlintrc"]) == 0
    config = yaml.safe_load((project / ".cfnlintrc").read_text())
    assert config == {
        "ignore_checks": ["W3005"],
        "regions": ["eu-west-1"],
        "append_rules": ["profile_expand.lint.rules"],
    }
    # Nothing of this machine in the file (no path into a venv): it can be committed.
    assert str(Path(sys.executable).parent.parent) not in (project / ".cfnlintrc").read_text()

    after = sam_validate(project)
    assert after.returncode == 0, after.stdout + after.stderr
    plain = cfn_lint(project, "template.yaml")
    assert plain.returncode == 0, plain.stdout + plain.stderr


def test_the_merged_file_loads_the_rules_too(project: Path) -> None:
    assert main(["cfnlintrc"]) == 0
    # The classic mistake (a role where the profile belongs) is reported by this package's rules only
    # (W9002 under the Transform: the macro corrects it), never by cfn-lint's own.
    text = (
        (project / "template.yaml")
        .read_text()
        .replace("IamRole: !Ref AppRole", "IamInstanceProfile: !Ref AppRole")
    )
    (project / "template.yaml").write_text(text)
    result = cfn_lint(project, "template.yaml")
    assert "W9002" in result.stdout, result.stdout + result.stderr


def test_merging_twice_changes_nothing_and_check_reports(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cfnlintrc", "--check"]) == 1
    assert main(["cfnlintrc"]) == 0
    first = (project / ".cfnlintrc").read_text()
    assert main(["cfnlintrc"]) == 0
    assert (project / ".cfnlintrc").read_text() == first
    assert main(["cfnlintrc", "--check"]) == 0
    assert "already set up" in capsys.readouterr().out


def test_a_new_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "sub" / ".cfnlintrc"
    target.parent.mkdir()
    assert main(["cfnlintrc", str(target)]) == 0
    assert yaml.safe_load(target.read_text())["append_rules"] == ["profile_expand.lint.rules"]


def test_an_old_install_path_is_removed_and_a_projects_own_spec_kept(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "/old/venv/lib/python3.11/site-packages/profile_expand/lint/data/override-spec.json"
    (project / ".cfnlintrc").write_text(f"override_spec: {old}\nappend_rules: rules/\n")
    assert main(["cfnlintrc"]) == 0
    config = yaml.safe_load((project / ".cfnlintrc").read_text())
    assert config == {"append_rules": ["rules/", "profile_expand.lint.rules"]}

    # The project's own spec stays, and the shorthand is still accepted beside it.
    (project / "team-spec.json").write_text('{"Patches": {}}\n')
    (project / ".cfnlintrc").write_text("override_spec: team-spec.json\n")
    assert main(["cfnlintrc"]) == 0
    config = yaml.safe_load((project / ".cfnlintrc").read_text())
    assert config == {"override_spec": "team-spec.json", "append_rules": ["profile_expand.lint.rules"]}
    plain = cfn_lint(project, "template.yaml")
    assert plain.returncode == 0, plain.stdout + plain.stderr


def test_a_file_that_is_not_a_mapping_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".cfnlintrc").write_text("- just\n- a list\n")
    assert main(["cfnlintrc"]) == 2
    assert "expects a mapping" in capsys.readouterr().err


def test_the_macro_name_is_set_for_every_rule_and_other_settings_stay(tmp_path: Path) -> None:
    from profile_expand.lint.rules import RULES

    config = tmp_path / ".cfnlintrc"
    config.write_text("configure_rules:\n  E3012:\n    strict: true\n  E9001:\n    other: kept\n")

    assert main(["cfnlintrc", str(config), "--macro-name", "TeamExpand"]) == 0

    written = yaml.safe_load(config.read_text())
    assert written["configure_rules"]["E3012"] == {"strict": True}
    assert written["configure_rules"]["E9001"] == {"other": "kept", "macro_name": "TeamExpand"}
    assert {rule.id for rule in RULES} <= set(written["configure_rules"])
    assert all(written["configure_rules"][rule.id]["macro_name"] == "TeamExpand" for rule in RULES)
    # Merging again without the option keeps the name the project chose.
    assert main(["cfnlintrc", str(config)]) == 0
    assert yaml.safe_load(config.read_text()) == written


def test_plain_cfn_lint_reads_the_macro_name_from_the_merged_file(tmp_path: Path) -> None:
    (tmp_path / ".cfnlintrc").write_text("")
    assert main(["cfnlintrc", str(tmp_path / ".cfnlintrc"), "--macro-name", "TeamExpand"]) == 0
    template = tmp_path / "team.yaml"
    template.write_text(TEAM_TEMPLATE)

    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "--", str(template)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    # The shorthand under Transform: TeamExpand is accepted; the role passed as a profile is still E9001,
    # and its advice names the macro as deployed.
    assert "W9001" not in done.stdout and "E3002" not in done.stdout, done.stdout
    assert "E9001" in done.stdout and "Transform: TeamExpand" in done.stdout, done.stdout


TEAM_TEMPLATE = """\
Transform: TeamExpand
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  Web:
    Type: AWS::EC2::Instance
    Properties: {ImageId: ami-0123456789abcdef0, IamRole: !Ref AppRole}
  Other:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      # Built with Fn::Sub: a literal role ARN is corrected under the Transform (issue 23), this is not.
      IamInstanceProfile: !Sub arn:aws:iam::${AWS::AccountId}:role/ops-role
"""
