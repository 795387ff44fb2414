"""`profile-expand migrate` through main([...]): the file stays the author's, exit codes, what is printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from profile_expand import expand
from profile_expand.cli.main import main
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.yaml_io import decode

BEFORE = """\
# Web tier, hand-written before ProfileExpand existed.
AWSTemplateFormatVersion: "2010-09-09"
Description: 'Web server'   # quoted on purpose
Resources:
  AppRole:  # the instance's role
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}

  # The profile EC2 needs; migrate replaces it.
  WebProfile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Path: /web/
      Roles:
        - !Ref AppRole  # one role

  # The web server.
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamInstanceProfile: !Ref WebProfile  # by name
      Tags: [{Key: Name, Value: "web"}]
Outputs:
  Role:
    Value: !GetAtt AppRole.Arn
"""

AFTER = """\
# Web tier, hand-written before ProfileExpand existed.
AWSTemplateFormatVersion: "2010-09-09"
Description: 'Web server'   # quoted on purpose
Transform: ProfileExpand
Resources:
  AppRole:  # the instance's role
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}

  # The profile EC2 needs; migrate replaces it.
  # one role

  # The web server.
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: {Role: !Ref AppRole, Profile: {Path: /web/, LogicalId: WebProfile}}  # by name
      Tags: [{Key: Name, Value: "web"}]
Outputs:
  Role:
    Value: !GetAtt AppRole.Arn
"""


def _write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_migrate_edits_only_what_it_converts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path, BEFORE)
    out = tmp_path / "out.yaml"
    assert main(["migrate", str(source), "-o", str(out)]) == 0
    assert out.read_text() == AFTER
    assert source.read_text() == BEFORE, "the input file was changed"
    err = capsys.readouterr().err
    assert (
        "converted WebProfile: IamRole at Web.Properties.IamInstanceProfile (Path /web/, LogicalId WebProfile)"
        in err
    )
    original = decode(BEFORE).plain
    assert differences(original, expand(decode(AFTER).plain)) == []


def test_check_exits_1_and_prints_the_change_when_profiles_would_convert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path, BEFORE)
    assert main(["migrate", "--check", str(source)]) == 1
    out = capsys.readouterr().out
    assert "converted WebProfile" in out
    assert "-      IamInstanceProfile: !Ref WebProfile  # by name" in out
    assert "+Transform: ProfileExpand" in out
    assert source.read_text() == BEFORE


def test_check_exits_0_when_nothing_converts_and_after_migrating(tmp_path: Path) -> None:
    source = _write(tmp_path, BEFORE)
    assert main(["migrate", str(source), "-o", str(source)]) == 0
    assert main(["migrate", "--check", str(source)]) == 0
    kept = _write(tmp_path, BEFORE + "  Profile:\n    Value: !Ref WebProfile\n", "kept.yaml")
    assert main(["migrate", "--check", str(kept)]) == 0


def test_kept_profiles_are_printed_with_their_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path, BEFORE + "  Profile:\n    Value: !GetAtt WebProfile.Arn\n")
    assert main(["migrate", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out == source.read_text(), "nothing to convert: the template comes out as it went in"
    assert "kept WebProfile: it is referenced from Outputs (Outputs.Profile.Value)" in captured.err


def test_json_keeps_its_indentation_and_appends_to_an_existing_transform(tmp_path: Path) -> None:
    template = {
        "Transform": ["AWS::LanguageExtensions"],
        "Resources": {
            "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "AppRoleInstanceProfile": {
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [{"Ref": "AppRole"}]},
            },
            "Lt": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {
                        "IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["AppRoleInstanceProfile", "Arn"]}}
                    }
                },
            },
        },
    }
    text = json.dumps(template, indent="\t") + "\n"
    source = _write(tmp_path, text, "template.json")
    out = tmp_path / "out.json"
    assert main(["migrate", str(source), "-o", str(out)]) == 0
    migrated = out.read_text()
    expected = {**template, "Transform": ["AWS::LanguageExtensions", "ProfileExpand"]}
    expected["Resources"] = {k: v for k, v in template["Resources"].items() if k != "AppRoleInstanceProfile"}
    expected["Resources"]["Lt"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {"LaunchTemplateData": {"IamRole": {"Ref": "AppRole"}}},
    }
    assert json.loads(migrated) == expected
    assert migrated == json.dumps(expected, indent="\t") + "\n", "tab indentation kept"


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        (
            "Transform: AWS::Serverless-2016-10-31\n",
            "Transform: [AWS::Serverless-2016-10-31, ProfileExpand]\n",
        ),
        ("Transform: [AWS::LanguageExtensions]\n", "Transform: [AWS::LanguageExtensions, ProfileExpand]\n"),
        (
            "Transform:\n  - AWS::LanguageExtensions  # first\n",
            "Transform:\n  - AWS::LanguageExtensions  # first\n  - ProfileExpand\n",
        ),
    ],
)
def test_profile_expand_goes_after_existing_transforms(tmp_path: Path, transform: str, expected: str) -> None:
    body = BEFORE.replace('AWSTemplateFormatVersion: "2010-09-09"\n', "")
    source = _write(tmp_path, transform + body)
    out = tmp_path / "out.yaml"
    assert main(["migrate", str(source), "-o", str(out)]) == 0
    assert out.read_text().startswith(expected)


def test_standard_input_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(BEFORE))
    assert main(["migrate", "-"]) == 0
    assert capsys.readouterr().out == AFTER
    assert main(["migrate", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    broken = _write(tmp_path, "Resources:\n  A: [\n", "broken.yaml")
    assert main(["migrate", str(broken)]) == 2
    assert f"{broken}:" in capsys.readouterr().err
    assert main(["migrate"]) == 2


def test_the_migrate_page_shows_this_very_example() -> None:
    readme = (Path(__file__).resolve().parents[2] / "docs" / "migrate.md").read_text()
    assert f"```yaml\n{BEFORE}```" in readme
    assert f"```yaml\n{AFTER}```" in readme


def test_crlf_line_ends_stay_crlf(tmp_path: Path) -> None:
    source = tmp_path / "template.yaml"
    source.write_bytes(BEFORE.replace("\n", "\r\n").encode())
    out = tmp_path / "out.yaml"
    assert main(["migrate", str(source), "-o", str(out)]) == 0
    assert out.read_bytes() == AFTER.replace("\n", "\r\n").encode()


BEANSTALK = """\
Transform: ProfileExpand
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
  Other:
    Type: AWS::EC2::Instance
    Properties: {ImageId: ami-1, IamRole: !Ref AppRole}
  EnvProfile:
    Type: AWS::IAM::InstanceProfile
    Properties: {Roles: [!Ref AppRole]}
  Env:
    Type: AWS::ElasticBeanstalk::Environment
    Properties:
      ApplicationName: app
      OptionSettings:
        - Namespace: aws:autoscaling:launchconfiguration
          OptionName: 'IamInstanceProfile'   # quoted
          Value:
            Ref: EnvProfile
"""


def test_a_template_already_using_the_macro_and_an_option_setting(tmp_path: Path) -> None:
    source = _write(tmp_path, BEANSTALK)
    out = tmp_path / "out.yaml"
    assert main(["migrate", str(source), "-o", str(out)]) == 0
    migrated = out.read_text()
    assert migrated == BEANSTALK.replace(
        "  EnvProfile:\n    Type: AWS::IAM::InstanceProfile\n    Properties: {Roles: [!Ref AppRole]}\n", ""
    ).replace(
        "          OptionName: 'IamInstanceProfile'   # quoted\n          Value:\n            Ref: EnvProfile\n",
        "          OptionName: 'IamRole'   # quoted\n          Value: {Role: !Ref AppRole, Profile: {LogicalId: EnvProfile}}\n",
    )
    # The stack the macro deploys is the same: Other's generated profile, and EnvProfile under its own ID.
    before, after = expand(decode(BEANSTALK).plain), expand(decode(migrated).plain)
    assert differences(before, after) == []
