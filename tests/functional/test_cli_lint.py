"""`profile-expand lint` as cfn-lint users expect it (issue 16): every format, cfn-lint's exit bits, the
macro's findings beside cfn-lint's own on the source, SAM in the chain, non-ASCII text.

Through main([...]) in this process; tests/integration/test_cli_lint_commands.py compares the console
script with plain cfn-lint in separate processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from profile_expand.cli.main import main
from profile_expand.cli.yaml_io import decode
from profile_expand.core.cfn import to_plain
from tests.functional.test_cli import ROLE
from tests.support import ROOT, line_of
from tests.support import write_file as write

SAM = ROOT / "tests" / "fixtures" / "lint" / "sam"
BAD = ROOT / "tests" / "fixtures" / "lint" / "templates" / "bad"


# The classic mistake under the Transform: the macro corrects it, with a warning (W9002) and no error.
ROLE_AS_PROFILE = f"""\
Transform: ProfileExpand
Resources:
{ROLE}  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamInstanceProfile: !Ref HostRole
"""

# The macro rejects this one (a misspelt role), and cfn-lint has its own error in another resource.
TWO_TYPOS = f"""\
Transform: ProfileExpand
Resources:
{ROLE}  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: !Ref HostRol
  Worker:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRoel: !Ref HostRole
"""


def lint_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["lint", *arguments, "--format", "json"])
    return code, json.loads(capsys.readouterr().out or "[]")


# -- item 1: the macro's findings in every format and in the exit code ---------------------------------


def test_json_has_the_macros_warning_with_its_path_and_the_exit_code_follows_cfn_lint(tmp_path, capsys):
    source = write(tmp_path, "web.yaml", ROLE_AS_PROFILE)

    code, findings = lint_json(capsys, str(source), "--non-zero-exit-code", "warning")

    assert code == 4  # cfn-lint's bit for warnings
    (finding,) = findings
    assert finding["Rule"]["Id"] == "W9002"  # type: ignore[index]
    location = finding["Location"]
    assert location["Path"] == ["Resources", "Web", "Properties", "IamInstanceProfile"]  # type: ignore[index]
    assert location["Start"]["LineNumber"] == line_of(ROLE_AS_PROFILE, "IamInstanceProfile")  # type: ignore[index]
    # --non-zero-exit-code error: a warning alone exits 0, as in cfn-lint.
    assert main(["lint", str(source), "--non-zero-exit-code", "error"]) == 0


@pytest.mark.parametrize("output_format", ["parseable", "sarif", "quiet", "pretty", "json"])
def test_every_format_carries_the_macros_error(tmp_path, capsys, output_format):
    source = write(tmp_path, "typos.yaml", TWO_TYPOS)

    code = main(["lint", str(source), "--format", output_format])

    out = capsys.readouterr().out
    assert code == 2
    assert "E9002" in out


# -- item 2: the macro's failure hides nothing ---------------------------------------------------------


def test_a_template_the_macro_rejects_is_still_linted_by_cfn_lint(tmp_path, capsys):
    source = write(tmp_path, "typos.yaml", TWO_TYPOS)

    code, findings = lint_json(capsys, str(source))

    assert code == 2
    at = {(f["Rule"]["Id"], f["Location"]["Start"]["LineNumber"]) for f in findings}  # type: ignore[index]
    assert ("E9002", line_of(TWO_TYPOS, "IamRole: !Ref HostRol")) in at
    assert ("E3002", line_of(TWO_TYPOS, "IamRoel")) in at


# -- item 6: what cfn-lint accepts -------------------------------------------------------------------


def test_options_go_before_or_after_the_templates_and_globs_expand(tmp_path, capsys):
    team = ROLE_AS_PROFILE.replace("Transform: ProfileExpand", "Transform: TeamExpand")
    write(tmp_path, "a.yaml", team)
    write(tmp_path, "b.yaml", team.replace("Web:", "Api:"))
    pattern = str(tmp_path / "*.yaml")

    after = main(["lint", pattern, "--macro-name", "TeamExpand", "--format", "parseable"])
    out_after = capsys.readouterr().out
    before = main(["lint", "--format", "parseable", "--macro-name=TeamExpand", pattern])
    out_before = capsys.readouterr().out

    assert after == before == 4  # warnings only: the bit cfn-lint sets for them by default
    assert out_after == out_before
    assert {line.split(":")[0] for line in out_after.splitlines()} == {
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
    }
    assert all(":W9002:" in line for line in out_after.splitlines())


def test_a_folder_stands_for_the_templates_under_it(tmp_path, capsys):
    write(tmp_path, "web.yaml", ROLE_AS_PROFILE)
    (tmp_path / "nested").mkdir()
    write(
        tmp_path / "nested",
        "typos.json",
        json.dumps(to_plain(decode(TWO_TYPOS).nodes)),
    )
    write(tmp_path, "notes.txt", "not a template")

    code = main(["lint", str(tmp_path), "--format", "parseable"])

    files = {line.split(":")[0] for line in capsys.readouterr().out.splitlines()}
    assert files == {str(tmp_path / "web.yaml"), str(tmp_path / "nested" / "typos.json")}
    assert code == 6  # the error of one and the warning of the other


def test_macro_name_without_a_value_is_a_usage_error(capsys):
    assert main(["lint", "t.yaml", "--macro-name"]) == 2
    assert "--macro-name needs the macro's name" in capsys.readouterr().err


def test_standard_input_is_read_as_cfn_lint_reads_it(tmp_path, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(TWO_TYPOS))
    code = main(["lint", "-", "--format", "parseable"])
    assert code == 2
    assert ":E9002:" in capsys.readouterr().out


# -- item 4: non-ASCII text --------------------------------------------------------------------------

EMOJI = {
    "Description": "Web server 🚀",
    "Transform": "ProfileExpand",
    "Resources": {
        "HostRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Web": {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": "ami-0123456789abcdef0",
                "IamRole": {"Ref": "HostRole"},
                "Tags": [{"Key": "Name", "Value": "café ☕"}],
            },
        },
    },
}


def test_non_ascii_json_lints_clean_and_expands_to_json_cfn_lint_reads(tmp_path, capsys):
    source = write(tmp_path, "emoji.json", json.dumps(EMOJI, indent=2, ensure_ascii=False))
    assert main(["lint", str(source)]) == 0
    assert capsys.readouterr().out == ""

    out = tmp_path / "out.json"
    assert main(["expand", str(source), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Web server 🚀" in text and "café ☕" in text and "\\u" not in text
    assert json.loads(text)["Description"] == EMOJI["Description"]
    assert main(["lint", str(out)]) == 0


# -- items 7, 16, 17, 18: SAM in the chain -----------------------------------------------------------


def test_sam_generated_roles_are_roles_and_findings_point_at_the_users_resources(capsys):
    source = SAM / "worker_uses_function_role.yaml"
    text = source.read_text(encoding="utf-8")

    code, findings = lint_json(capsys, str(source))

    ours = [f for f in findings if str(f["Rule"]["Id"]).startswith(("E9", "W9"))]  # type: ignore[index]
    # ApiRole is the role SAM writes for function Api: no "neither a resource nor a parameter" here.
    assert not any("neither a resource" in str(f["Message"]) for f in ours)
    # That role does not trust EC2 (E9007); the finding points at the function that makes it, in the file.
    (trust,) = [f for f in ours if f["Rule"]["Id"] == "E9007"]  # type: ignore[index]
    assert trust["Location"]["Path"] == ["Resources", "Api"]  # type: ignore[index]
    assert trust["Location"]["Start"]["LineNumber"] == line_of(text, "  Api:")  # type: ignore[index]
    assert code == 2


def test_sam_template_with_two_typos_reports_both_at_the_property_lines(capsys):
    source = SAM / "worker_role_typo.yaml"
    text = source.read_text(encoding="utf-8")

    code, findings = lint_json(capsys, str(source))

    at = {(f["Rule"]["Id"], f["Location"]["Start"]["LineNumber"]) for f in findings}  # type: ignore[index]
    assert ("E9002", line_of(text, "!Ref WorkerRol")) in at
    assert ("E3002", line_of(text, "InstanceTyp:")) in at
    assert code == 2


SAR_APP = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: [AWS::Serverless-2016-10-31, ProfileExpand]
Resources:
  Rotator:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/secrets-rotator
        SemanticVersion: 1.0.0
{ROLE}  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: !Ref HostRole
"""


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No region, no credentials: any call to AWS fails (NoRegionError) instead of reaching it."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def test_serverless_application_from_sar_expands_and_lints_without_aws(tmp_path, capsys, no_aws):
    source = write(tmp_path, "sar.yaml", SAR_APP)
    other = write(tmp_path, "other.yaml", ROLE_AS_PROFILE)

    assert main(["expand", str(source), "--format", "json"]) == 0
    captured = capsys.readouterr()
    expanded = json.loads(captured.out)
    assert expanded["Resources"]["Rotator"]["Type"] == "AWS::CloudFormation::Stack"
    assert expanded["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "HostRoleInstanceProfile"
    }
    assert "Serverless Application Repository" in captured.err  # the placeholder is announced

    # One call over both: the SAR template lints, and the other's finding is there too.
    code, findings = lint_json(capsys, str(source), str(other))
    assert {(Path(str(f["Filename"])).name, f["Rule"]["Id"]) for f in findings} == {("other.yaml", "W9002")}  # type: ignore[index]
    assert code == 4


# cfn-lint 1.58 itself raises TypeError on this one (it sorts logical IDs 0 and "Bad-Name" while logging
# its SAM globals merge) and `cfn-lint` stops the whole run with a traceback.
SAM_INT_ID = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Bad-Name:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: a.b, CodeUri: s3://bucket/code.zip}
  0:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: a.b, CodeUri: s3://bucket/code.zip}
"""


def test_a_template_cfn_lint_crashes_on_hides_no_other_templates_findings(tmp_path, capsys):
    crashing = write(tmp_path, "a_int_id.yaml", SAM_INT_ID)
    other = write(tmp_path, "b_other.yaml", ROLE_AS_PROFILE)

    code, findings = lint_json(capsys, str(crashing), str(other))

    found = {(Path(str(f["Filename"])).name, f["Rule"]["Id"]) for f in findings}  # type: ignore[index]
    assert ("a_int_id.yaml", "E0002") in found and ("b_other.yaml", "W9002") in found
    assert code == 6


HTTP_API_TAGS = """\
Transform: [AWS::Serverless-2016-10-31, ProfileExpand]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: 3.0.1
        info: {title: api, version: "1"}
        paths: {}
        tags: {name: tag1}
"""


def test_sam_messages_name_plain_types(tmp_path, capsys):
    source = write(tmp_path, "api.yaml", HTTP_API_TAGS)

    assert main(["expand", str(source)]) == 1
    err = capsys.readouterr().err
    assert "is a dict not a list" in err and "dict_node" not in err

    lint_json(capsys, str(source))
    # cfn-lint's own findings are its own; ours never show an internal type either.
    assert "_node" not in capsys.readouterr().out


# -- item 8: advice that fits --------------------------------------------------------------------------

NO_RESOURCES = """\
Parameters:
  Name:
    Type: String
Outputs:
  Name:
    Value: !Ref Name
"""


def test_a_template_without_resources_gets_no_fn_transform_advice(tmp_path, capsys):
    plain = write(tmp_path, "plain.yaml", NO_RESOURCES)
    _, findings = lint_json(capsys, str(plain))
    # No Transform: the macro never runs; cfn-lint's own E1001 says what is missing.
    assert [f["Rule"]["Id"] for f in findings] == ["E1001"]  # type: ignore[index]

    declared = write(tmp_path, "declared.yaml", "Transform: ProfileExpand\n" + NO_RESOURCES)
    _, findings = lint_json(capsys, str(declared))
    (ours,) = [f for f in findings if f["Rule"]["Id"] == "E9002"]  # type: ignore[index]
    assert "no Resources section" in str(ours["Message"]) and "Fn::Transform" not in str(ours["Message"])


LOOP_FIRST = f"""\
Transform: [ProfileExpand, AWS::LanguageExtensions]
Resources:
{ROLE}  Fn::ForEach::Workers:
    - Name
    - [Blue, Green]
    - Worker${{Name}}:
        Type: AWS::EC2::Instance
        Properties:
          ImageId: ami-0123456789abcdef0
          IamRole: !Ref HostRole
"""


def test_macro_listed_before_language_extensions_is_an_error_saying_the_order(tmp_path, capsys):
    source = write(tmp_path, "loop.yaml", LOOP_FIRST)

    code, findings = lint_json(capsys, str(source))

    assert code == 2
    ours = [f for f in findings if str(f["Rule"]["Id"]).startswith(("E9", "W9"))]  # type: ignore[index]
    assert [f["Rule"]["Id"] for f in ours] == ["E9002"]  # type: ignore[index]
    message = str(ours[0]["Message"])
    assert "Transform: [AWS::LanguageExtensions, ProfileExpand]" in message
    assert "does not list" not in message
    # The preview does not pretend: IamRole would reach CloudFormation unexpanded.
    assert main(["expand", str(source)]) == 1
    err = capsys.readouterr().err
    loop = line_of(LOOP_FIRST, "Fn::ForEach::Workers")
    # At the loop (its value starts on the line below its key).
    assert any(f"{source}:{line}:" in err for line in (loop, loop + 1)), err
    assert "List AWS::LanguageExtensions first" in err


def test_expand_without_the_transform_corrects_nothing_and_shows_the_finding(tmp_path, capsys):
    text = ROLE_AS_PROFILE.replace("Transform: ProfileExpand\n", "")
    source = write(tmp_path, "plain.yaml", text)

    assert main(["expand", str(source), "--format", "json"]) == 1

    captured = capsys.readouterr()
    written = json.loads(captured.out)
    # As CloudFormation receives it: the role is still where the profile belongs, no profile made.
    assert written["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {"Ref": "HostRole"}
    assert "HostRoleInstanceProfile" not in written["Resources"]
    assert "nothing expanded or corrected" in captured.err
    assert f"{source}:{line_of(text, 'IamInstanceProfile')}:" in captured.err and "E9001" in captured.err
