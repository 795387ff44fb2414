"""The installed `profile-expand` console script (and `python -m profile_expand.cli.main`) in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "web-app.yaml"
SCRIPT = Path(sys.executable).parent / "profile-expand"

TEMPLATE = """\
Transform: ProfileExpand
Resources:
  HostRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: ec2.amazonaws.com
            Action: sts:AssumeRole
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: !Ref HostRole
"""


@pytest.fixture(params=["console-script", "python-m"])
def command(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "console-script":
        if not SCRIPT.exists():
            pytest.fail(f"{SCRIPT} is missing: install the package (make setup) to get the console script")
        return [str(SCRIPT)]
    return [sys.executable, "-m", "profile_expand.cli.main"]


def run(command: list[str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def plain(text: str) -> object:
    return json.loads(json.dumps(cfn_yaml.loads(text)))


def test_expand_prints_the_expanded_example(command):
    result = run(command, "expand", str(EXAMPLE))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    resources = plain(result.stdout)["Resources"]  # type: ignore[index]
    assert resources["WebRoleInstanceProfile"]["Type"] == "AWS::IAM::InstanceProfile"
    assert "UserData:\n        Fn::Base64: !Sub |\n          #!/bin/bash\n" in result.stdout


def test_stdin_json_out(command):
    result = run(command, "expand", "-", "--format", "json", stdin=TEMPLATE)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "HostRoleInstanceProfile"
    }


def test_template_error_exit_1_with_position(command):
    result = run(command, "expand", "-", stdin=TEMPLATE.replace("!Ref HostRole", "!Ref HostRol"))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("<stdin>:17:16: Resource Web, Properties.IamRole: ")


def test_usage_error_exit_2(command):
    result = run(command, "expand")

    assert result.returncode == 2
    assert "usage: profile-expand" in result.stderr


def test_lint_exit_code_is_cfn_lints(command, tmp_path):
    source = tmp_path / "web.yaml"
    source.write_text(TEMPLATE.replace("ImageId:", "ImageIdd:"), encoding="utf-8")

    result = run(command, "lint", str(source), "--format", "parseable")

    assert result.returncode == 2, result.stderr
    assert f"{source}:16:7:" in result.stdout and "E3002" in result.stdout


def test_event_writes_a_file(command, tmp_path):
    target = tmp_path / "event.json"

    result = run(command, "event", str(EXAMPLE), "-o", str(target))

    assert result.returncode == 0, result.stderr
    event = json.loads(target.read_text())
    assert event["fragment"] == plain(EXAMPLE.read_text())
    assert event["templateParameterValues"]["Environment"] == "staging"


def test_the_core_loads_none_of_the_author_tools():
    # The Lambda imports the core: the chain, cfn-lint and the SAM translator stay out of its cold start.
    code = (
        "import sys, profile_expand, profile_expand.core.pipeline; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cfnlint', 'samtranslator', 'yaml') "
        "or m in ('profile_expand.lint.chain', 'profile_expand.cli.main', 'profile_expand.cli.yaml_io')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
