"""The `profile-expand` command line through main([...]): formats, positions, exit codes, the chain."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

from profile_expand import InvalidTemplateError, expand_with_report
from profile_expand.cli.main import main
from profile_expand.core.cfn import to_plain

ROOT = Path(__file__).resolve().parents[2]

ROLE = """\
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
"""

# Every short-form tag CloudFormation knows, a UserData block literal, and no IamRole anywhere.
EVERY_TAG = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: ProfileExpand
Parameters:
  Env:
    Type: String
    Default: staging
Conditions:
  IsProd: !Equals [!Ref Env, production]
  IsStaging: !Not [!Condition IsProd]
  Either: !Or [!Condition IsProd, !And [!Condition IsStaging, !Equals [a, b]]]
Mappings:
  Ami:
    us-east-1:
      Id: ami-0123456789abcdef0
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 4, 8]]
      AvailabilityZone: !Select [0, !GetAZs ""]
  Host:
    Type: AWS::EC2::Instance
    Condition: Either
    Properties:
      ImageId: !FindInMap [Ami, !Ref "AWS::Region", Id]
      SubnetId: !If [IsProd, !Ref Subnet, !Ref "AWS::NoValue"]
      SecurityGroupIds: !Split [",", !ImportValue shared-security-groups]
      Tags:
        - Key: Name
          Value: !Join ["-", [!Ref "AWS::StackName", host]]
      UserData:
        Fn::Base64: !Sub |
          #!/bin/bash
          set -euo pipefail
          echo "${AWS::StackName}" > /etc/stack-name
          yum install -y httpd
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags: !Transform {Name: AWS::Include, Parameters: {Location: s3://bucket/tags.yaml}}
Outputs:
  Address:
    Value: !GetAtt [Host, PrivateIp]
  PublicAddress:
    Value:
      Fn::GetAtt: Host.PublicIp
"""

WEB = f"""\
Transform: ProfileExpand
Resources:
{ROLE}  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: !Ref HostRole
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def decoded(text: str) -> Any:
    """A template as CloudFormation reads it: short forms become {"Fn::X": ...}, positions dropped."""
    nodes, matches = decode_str(text)
    assert not matches, matches
    return to_plain(nodes)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line containing needle."""
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


# -- expand: formats -----------------------------------------------------------------------------------


def test_yaml_round_trip_keeps_every_short_form_and_the_block_literal(tmp_path, capsys):
    source = write(tmp_path, "tags.yaml", EVERY_TAG)

    assert main(["expand", str(source)]) == 0

    out = capsys.readouterr().out
    assert decoded(out) == decoded(EVERY_TAG)
    for tag in (
        "!Ref",
        "!GetAtt",
        "!Sub",
        "!If",
        "!Join",
        "!Select",
        "!Split",
        "!FindInMap",
        "!ImportValue",
        "!Cidr",
        "!GetAZs",
        "!Equals",
        "!And",
        "!Or",
        "!Not",
        "!Condition",
        "!Transform",
    ):
        assert re.search(rf"{tag}[ \n]", out), f"{tag} lost its short form"
    # Long forms only where a short form cannot say the same: a tag on a tag, GetAtt as one string.
    assert [line.strip() for line in out.splitlines() if "Fn::" in line] == [
        "Fn::Base64: !Sub |",
        "Fn::GetAtt: Host.PublicIp",
    ]
    # The script stays a block literal a person can read, not one quoted line with \n escapes.
    assert "Fn::Base64: !Sub |\n          #!/bin/bash\n          set -euo pipefail\n" in out
    assert "!GetAtt Vpc.CidrBlock" in out
    assert "!GetAtt Host.PrivateIp" in out


def test_yaml_output_keeps_key_order_and_is_stable(tmp_path, capsys):
    source = write(tmp_path, "tags.yaml", EVERY_TAG)

    main(["expand", str(source)])
    first = capsys.readouterr().out
    main(["expand", str(source)])

    assert capsys.readouterr().out == first
    top_keys = [line.split(":")[0] for line in first.splitlines() if line and not line.startswith(" ")]
    assert top_keys == [
        "AWSTemplateFormatVersion",
        "Transform",
        "Parameters",
        "Conditions",
        "Mappings",
        "Resources",
        "Outputs",
    ]
    assert list(decoded(first)["Resources"]) == ["Vpc", "Subnet", "Host", "Bucket"]


def test_yaml_output_writes_no_anchors_and_no_quoted_tag_arguments(tmp_path, capsys):
    # The core shares unchanged objects between input and output; CloudFormation rejects YAML aliases.
    source = write(
        tmp_path,
        "web.yaml",
        WEB.replace(
            "  Web:",
            "  Web2:\n    Type: AWS::EC2::Instance\n    Properties:\n      IamRole: !Ref HostRole\n  Web:",
        ),
    )

    assert main(["expand", str(source)]) == 0

    out = capsys.readouterr().out
    assert "&id" not in out and "*id" not in out
    assert "IamInstanceProfile: !Ref HostRoleInstanceProfile" in out


def test_json_in_gives_json_out_byte_for_byte_the_macro_fragment(tmp_path, capsys):
    template = decoded(WEB)
    source = write(tmp_path, "web.json", json.dumps(template, indent=4))

    assert main(["expand", str(source)]) == 0

    out = capsys.readouterr().out
    assert out == json.dumps(expand_with_report(template).template, indent=2) + "\n"
    assert json.loads(out)["Resources"]["Web"]["Properties"] == {
        "ImageId": "ami-0123456789abcdef0",
        "IamInstanceProfile": {"Ref": "HostRoleInstanceProfile"},
    }


def test_format_overrides_the_input_format(tmp_path, capsys):
    yaml_source = write(tmp_path, "web.yaml", WEB)
    json_source = write(tmp_path, "web.json", json.dumps(decoded(WEB)))

    assert main(["expand", str(yaml_source), "--format", "json"]) == 0
    as_json = capsys.readouterr().out
    assert main(["expand", str(json_source), "--format", "yaml"]) == 0
    as_yaml = capsys.readouterr().out

    assert json.loads(as_json) == decoded(as_yaml)
    assert as_yaml.startswith("Transform: ProfileExpand\n")
    assert "IamInstanceProfile: !Ref HostRoleInstanceProfile" in as_yaml


def test_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(WEB))

    assert main(["expand", "-"]) == 0

    assert "HostRoleInstanceProfile:\n    Type: AWS::IAM::InstanceProfile" in capsys.readouterr().out


def test_output_file(tmp_path, capsys):
    source = write(tmp_path, "web.yaml", WEB)
    target = tmp_path / "out" / "expanded.yaml"
    target.parent.mkdir()

    assert main(["expand", str(source), "-o", str(target)]) == 0

    assert capsys.readouterr().out == ""
    assert decoded(target.read_text())["Resources"]["HostRoleInstanceProfile"]["Properties"] == {
        "Roles": [{"Ref": "HostRole"}]
    }


def test_example_template_expands(capsys):
    assert main(["expand", str(ROOT / "examples" / "web-app.yaml")]) == 0

    result = decoded(capsys.readouterr().out)
    resources = result["Resources"]
    assert resources["WebServer"]["Properties"]["IamInstanceProfile"] == {"Ref": "WebRoleInstanceProfile"}
    assert resources["WebLaunchTemplate"]["Properties"]["LaunchTemplateData"]["IamInstanceProfile"] == {
        "Arn": {"Fn::GetAtt": ["WebRoleInstanceProfile", "Arn"]}
    }
    assert resources["ReportsComputeEnvironment"]["Properties"]["ComputeResources"]["InstanceRole"] == {
        "Fn::GetAtt": ["BatchInstanceRoleInstanceProfile", "Arn"]
    }


# -- expand: errors and exit codes -----------------------------------------------------------------------

BAD_YAML = f"""\
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
      IamRole: 42
"""


def test_template_errors_point_at_the_offending_value_in_yaml(tmp_path, capsys):
    source = write(tmp_path, "bad.yaml", BAD_YAML)

    assert main(["expand", str(source), "-o", str(tmp_path / "never.yaml")]) == 1

    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert captured.out == ""
    assert not (tmp_path / "never.yaml").exists()
    web_line = line_of(BAD_YAML, "!Ref HostRol")
    worker_line = line_of(BAD_YAML, "IamRole: 42")
    assert errors[0].startswith(f"{source}:{web_line}:16: Resource Web, Properties.IamRole: ")
    assert errors[1].startswith(f"{source}:{worker_line}:")
    assert "Resource Worker, Properties.IamRole: 42" in errors[1]
    assert len(errors) == 2


def test_error_words_are_the_macros(tmp_path, capsys):
    source = write(tmp_path, "bad.yaml", BAD_YAML)

    main(["expand", str(source)])

    with pytest.raises(InvalidTemplateError) as raised:
        expand_with_report(decoded(BAD_YAML))
    printed = [line.split(": ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert printed == [str(error) for error in raised.value.errors]


def test_template_errors_point_at_the_offending_value_in_json(tmp_path, capsys):
    text = json.dumps(decoded(BAD_YAML), indent=2)
    source = write(tmp_path, "bad.json", text)

    assert main(["expand", str(source)]) == 1

    errors = capsys.readouterr().err.splitlines()
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if '"IamRole"' in line]
    assert [error.split(":")[1] for error in errors] == [str(number) for number in lines]
    assert "Resource Web, Properties.IamRole" in errors[0]


def test_warnings_go_to_stderr_with_position_and_exit_zero(tmp_path, capsys):
    # The classic mistake, a role where the profile belongs: corrected under the Transform, with a warning.
    text = WEB.replace("IamRole: !Ref HostRole", "IamInstanceProfile: !Ref HostRole")
    source = write(tmp_path, "mistake.yaml", text)

    assert main(["expand", str(source)]) == 0

    captured = capsys.readouterr()
    line = line_of(text, "IamInstanceProfile")
    assert captured.err.startswith(
        f"{source}:{line}:27: warning: Resource Web, Properties.IamInstanceProfile"
    )
    assert "IamInstanceProfile: !Ref HostRoleInstanceProfile" in captured.out


def test_yaml_syntax_error_names_the_line_and_exits_2(tmp_path, capsys):
    text = WEB.replace("      ImageId: ami-0123456789abcdef0\n", "      ImageId: [ami-0123456789abcdef0\n")
    source = write(tmp_path, "broken.yaml", text)

    assert main(["expand", str(source)]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"{source}:{line_of(text, 'IamRole')}:")
    assert "syntax error" in err


def test_json_syntax_error_names_the_line_and_exits_2(tmp_path, capsys):
    source = write(tmp_path, "broken.json", '{\n  "Resources": {\n    "A": 1,\n  }\n}\n')

    assert main(["expand", str(source)]) == 2

    assert capsys.readouterr().err.startswith(f"{source}:4:")


def test_duplicate_keys_are_a_syntax_error(tmp_path, capsys):
    source = write(tmp_path, "dup.yaml", "Resources:\n  A:\n    Type: X\n  A:\n    Type: Y\n")

    assert main(["expand", str(source)]) == 2

    assert "Duplicate" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["expand"], ["frobnicate", "t.yaml"], ["expand", "t.yaml", "--format", "toml"]],
    ids=["no-command", "no-template", "unknown-command", "bad-format"],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_unreadable_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing.yaml"

    assert main(["expand", str(missing)]) == 2

    assert f"cannot read {missing}" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "expand" in capsys.readouterr().out


def test_snippet_without_resources_is_a_template_error(tmp_path, capsys):
    source = write(tmp_path, "snippet.yaml", "IamRole: !Ref HostRole\n")

    assert main(["expand", str(source)]) == 1

    assert "no Resources section" in capsys.readouterr().err


# -- the Transform chain ---------------------------------------------------------------------------------

SAM = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: [AWS::Serverless-2016-10-31, ProfileExpand]
Globals:
  Function:
    Timeout: 10
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./src
      Handler: app.handler
      Runtime: python3.12
{ROLE}  Worker:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0123456789abcdef0
      IamRole: !Ref HostRole
"""


def test_chain_applies_sam_before_profile_expand(tmp_path, capsys):
    source = write(tmp_path, "sam.yaml", SAM)

    assert main(["expand", str(source)]) == 0

    captured = capsys.readouterr()
    result = decoded(captured.out)
    resources = result["Resources"]
    assert resources["Api"]["Type"] == "AWS::Lambda::Function"
    assert resources["Api"]["Properties"]["Timeout"] == 10  # Globals applied
    assert resources["ApiRole"]["Type"] == "AWS::IAM::Role"
    assert resources["Worker"]["Properties"]["IamInstanceProfile"] == {"Ref": "HostRoleInstanceProfile"}
    assert resources["HostRoleInstanceProfile"]["Type"] == "AWS::IAM::InstanceProfile"
    assert "Globals" not in result
    assert "AWS::Serverless" not in captured.out
    assert "applied AWS::Serverless-2016-10-31, ProfileExpand" in captured.err
    assert "./src" in captured.err  # the placeholder artifact location is announced


def test_chain_errors_after_sam_still_point_at_the_source_line(tmp_path, capsys):
    text = SAM.replace("IamRole: !Ref HostRole", "IamRole: !Ref NoSuchRole")
    source = write(tmp_path, "sam.yaml", text)

    assert main(["expand", str(source)]) == 1

    assert capsys.readouterr().err.splitlines()[-1].startswith(f"{source}:{line_of(text, 'NoSuchRole')}:16: ")


def test_sam_errors_are_template_errors_at_the_resource(tmp_path, capsys):
    text = SAM.replace("      Runtime: python3.12\n", "      Runtime: python3.12\n      Events: 7\n")
    source = write(tmp_path, "sam.yaml", text)

    assert main(["expand", str(source)]) == 1

    err = capsys.readouterr().err
    assert f"{source}:{line_of(text, '  Api:') + 1}:" in err
    assert "AWS::Serverless-2016-10-31: " in err


@pytest.mark.parametrize(
    ("absent", "named"),
    [(("samtranslator", "boto3", "botocore"), "aws-sam-translator"), (("boto3", "botocore"), "boto3")],
    ids=["neither", "boto3 only"],
)
def test_a_missing_sam_translator_or_boto3_is_named_with_how_to_install_it_from_the_checkout(
    tmp_path, absent, named
):
    # Issue 22: the hint named boto3 where aws-sam-translator was missing, and said
    # `pip install 'profile-expand[sam]'`, which no index has. A fresh interpreter, so nothing is cached.
    source = write(tmp_path, "sam.yaml", SAM)
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({list(absent)!r}))\n"
        "from profile_expand.cli.main import main\n"
        f"sys.exit(main(['expand', {str(source)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"translating it needs {named}, which is not installed" in done.stderr
    assert "pip install -e '.[sam]'" in done.stderr and "profile-expand[sam]" not in done.stderr


FOR_EACH = f"""\
Transform: [AWS::LanguageExtensions, ProfileExpand]
Parameters:
  Tiers:
    Type: CommaDelimitedList
    Default: Web,Worker,Cron
Resources:
{ROLE}  Fn::ForEach::Hosts:
    - Tier
    - !Ref Tiers
    - ${{Tier}}Host:
        Type: AWS::EC2::Instance
        Properties:
          ImageId: ami-0123456789abcdef0
          IamRole: !Ref HostRole
          Tags:
            - Key: Tier
              Value: !Ref Tier
"""


def test_chain_applies_language_extensions_before_profile_expand(tmp_path, capsys):
    source = write(tmp_path, "foreach.yaml", FOR_EACH)

    assert main(["expand", str(source)]) == 0

    captured = capsys.readouterr()
    resources = decoded(captured.out)["Resources"]
    for tier in ("Web", "Worker", "Cron"):
        assert resources[f"{tier}Host"]["Properties"]["IamInstanceProfile"] == {
            "Ref": "HostRoleInstanceProfile"
        }
        assert resources[f"{tier}Host"]["Properties"]["Tags"] == [{"Key": "Tier", "Value": tier}]
    assert resources["HostRoleInstanceProfile"]["Metadata"]["ProfileExpand"]["GeneratedFor"] == [
        "CronHost",
        "WebHost",
        "WorkerHost",
    ]
    assert not any(key.startswith("Fn::ForEach") for key in resources)
    assert "applied AWS::LanguageExtensions, ProfileExpand" in captured.err


def test_errors_inside_for_each_point_at_the_loop_body(tmp_path, capsys):
    text = FOR_EACH.replace("IamRole: !Ref HostRole", "IamRole: !Ref Nope")
    source = write(tmp_path, "foreach.yaml", text)

    assert main(["expand", str(source)]) == 1

    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(source))]
    assert len(errors) == 3  # one per generated instance, all at the one line that wrote them
    assert {error.split(":")[1] for error in errors} == {str(line_of(text, "!Ref Nope"))}


def test_preview_says_when_a_loop_has_no_values_to_expand_over(tmp_path, capsys):
    text = FOR_EACH.replace("    Default: Web,Worker,Cron\n", "")
    source = write(tmp_path, "foreach.yaml", text)

    assert main(["expand", str(source)]) == 0
    first = capsys.readouterr()
    main(["expand", str(source)])

    assert "Fn::ForEach::Hosts loops over a parameter with no Default" in first.err
    assert capsys.readouterr().out == first.out  # placeholder names, but the same ones every time


def test_preview_says_which_language_extensions_it_left_unresolved(tmp_path, capsys):
    text = FOR_EACH.replace(
        "          ImageId: ami-0123456789abcdef0\n", "          ImageId: {Fn::Length: [1]}\n"
    )
    source = write(tmp_path, "foreach.yaml", text)

    assert main(["expand", str(source)]) == 0

    assert "Fn::Length left as written" in capsys.readouterr().err


def test_transforms_after_profile_expand_stay_in_the_output(tmp_path, capsys):
    text = FOR_EACH.replace(
        "Transform: [AWS::LanguageExtensions, ProfileExpand]",
        "Transform: [AWS::LanguageExtensions, ProfileExpand, AWS::Serverless-2016-10-31]",
    )
    source = write(tmp_path, "after.yaml", text)

    assert main(["expand", str(source)]) == 0

    captured = capsys.readouterr()
    assert decoded(captured.out)["Transform"] == ["ProfileExpand", "AWS::Serverless-2016-10-31"]
    assert "left for CloudFormation: AWS::Serverless-2016-10-31" in captured.err


def test_without_a_chain_the_transform_is_left_as_written(tmp_path, capsys):
    text = WEB.replace("Transform: ProfileExpand", "Transform: [ProfileExpand, AWS::Serverless-2016-10-31]")
    source = write(tmp_path, "web.yaml", text)

    assert main(["expand", str(source)]) == 0

    captured = capsys.readouterr()
    assert decoded(captured.out)["Transform"] == ["ProfileExpand", "AWS::Serverless-2016-10-31"]
    assert "left for CloudFormation: AWS::Serverless-2016-10-31" in captured.err


def test_missing_transform_is_announced(tmp_path, capsys):
    source = write(tmp_path, "plain.yaml", WEB.replace("Transform: ProfileExpand\n", ""))

    # IamRole reaches CloudFormation as written, and the deploy fails: not a success.
    assert main(["expand", str(source)]) == 1

    err = capsys.readouterr().err
    assert "no Transform: ProfileExpand" in err and "nothing expanded or corrected" in err
    assert "W9001 Resource Web, Properties.IamRole: IamRole is ProfileExpand shorthand" in err


CORPUS = ROOT.parent / "shared" / "corpus" / "shorthand"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus sits beside the repository")
def test_real_json_templates_come_out_as_the_macro_fragment(tmp_path, capsys):
    for path in sorted(CORPUS.glob("*.json")):
        template = json.loads(path.read_text())
        try:
            expected = json.dumps(expand_with_report(template).template, indent=2, ensure_ascii=False) + "\n"
        except InvalidTemplateError:
            expected = None
        code = main(["expand", str(path)])
        out = capsys.readouterr().out
        assert (code, out) == ((0, expected) if expected is not None else (1, "")), path.name
        if expected is not None:
            main(["expand", str(path), "--format", "yaml"])
            assert decoded(capsys.readouterr().out) == json.loads(expected), path.name


# -- event -----------------------------------------------------------------------------------------------


def test_event_is_a_macro_event_with_the_chained_fragment(tmp_path, capsys):
    text = SAM.replace(
        "Globals:",
        "Parameters:\n  Size:\n    Type: Number\n    Default: 3\n  Azs:\n"
        "    Type: CommaDelimitedList\n    Default: a, b\n  Secret:\n    Type: String\n    NoEcho: true\nGlobals:",
    )
    source = write(tmp_path, "sam.yaml", text)
    target = tmp_path / "event.json"

    assert main(["event", str(source), "-o", str(target)]) == 0

    event = json.loads(target.read_text())
    assert list(event) == [
        "accountId",
        "fragment",
        "transformId",
        "requestId",
        "region",
        "params",
        "templateParameterValues",
    ]
    assert event["accountId"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["transformId"] == "123456789012::ProfileExpand"
    assert event["params"] == {}
    assert event["templateParameterValues"] == {"Size": "3", "Azs": ["a", "b"]}
    fragment = event["fragment"]
    assert fragment["Resources"]["Api"]["Type"] == "AWS::Lambda::Function"  # SAM already applied
    assert fragment["Resources"]["Worker"]["Properties"]["IamRole"] == {"Ref": "HostRole"}  # ours not yet
    assert fragment["Transform"] == ["ProfileExpand"]


def test_event_request_id_is_deterministic_unless_given(tmp_path, capsys):
    source = write(tmp_path, "web.yaml", WEB)

    main(["event", str(source)])
    first = json.loads(capsys.readouterr().out)
    main(["event", str(source)])
    second = json.loads(capsys.readouterr().out)
    main(
        ["event", str(source), "--request-id", "abc", "--region", "eu-west-1", "--account-id", "111122223333"]
    )
    chosen = json.loads(capsys.readouterr().out)
    write(tmp_path, "web.yaml", WEB.replace("ami-0123456789abcdef0", "ami-0fedcba9876543210"))
    main(["event", str(source)])
    other = json.loads(capsys.readouterr().out)

    assert first == second
    assert len(first["requestId"]) == 36 and first["requestId"].count("-") == 4
    assert other["requestId"] != first["requestId"]
    assert (chosen["requestId"], chosen["region"], chosen["accountId"]) == (
        "abc",
        "eu-west-1",
        "111122223333",
    )
    assert chosen["transformId"] == "111122223333::ProfileExpand"


def test_event_through_the_handler_gives_what_expand_prints(tmp_path, capsys):
    pytest.importorskip("aws_lambda_powertools")
    from profile_expand.macro import handler

    source = write(tmp_path, "sam.yaml", SAM)
    main(["event", str(source)])
    event = json.loads(capsys.readouterr().out)
    main(["expand", str(source), "--format", "json"])
    printed = capsys.readouterr().out

    class Context:
        function_name = "ProfileExpand-macro"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ProfileExpand-macro"
        aws_request_id = "local"

    response = handler.lambda_handler(event, Context())
    capsys.readouterr()
    assert response["status"] == "success"
    assert json.dumps(response["fragment"], indent=2) + "\n" == printed


# -- lint ------------------------------------------------------------------------------------------------


def test_lint_clean_template_exits_0(capsys):
    assert main(["lint", str(ROOT / "examples" / "web-app.yaml")]) == 0
    assert capsys.readouterr().out == ""


def test_lint_findings_point_at_source_lines_and_exit_as_cfn_lint(tmp_path, capsys):
    text = FOR_EACH.replace("          ImageId: ami", "          ImageIdd: ami").replace(
        "        Statement:\n", "        Statemnt:\n"
    )
    source = write(tmp_path, "foreach.yaml", text)

    code = main(["lint", str(source), "--format", "parseable"])

    findings = capsys.readouterr().out.splitlines()
    assert code == 2  # cfn-lint's bit for errors
    assert all(finding.startswith(f"{source}:") for finding in findings)
    lines = {int(finding.split(":")[1]) for finding in findings}
    assert line_of(text, "Statemnt") in lines  # a path that exists in the source, at its own line
    assert line_of(text, "ImageIdd") in lines  # in every generated instance, at the loop body
    assert sum("ImageIdd" in finding for finding in findings) == 1  # three copies, one source line
    assert not any("W2001" in finding for finding in findings)  # Tiers is used, by the Fn::ForEach


def test_lint_without_the_transform_lints_the_file_itself(tmp_path, capsys):
    text = WEB.replace("Transform: ProfileExpand\n", "")
    source = write(tmp_path, "plain.yaml", text)

    code = main(["lint", str(source), "--format", "parseable"])

    findings = capsys.readouterr().out.splitlines()
    assert code & 4
    iam_role_line = line_of(text, "IamRole")
    assert any(f"{source}:{iam_role_line}:7:" in finding and "W9001" in finding for finding in findings)


def test_lint_passes_options_to_cfn_lint(tmp_path, capsys):
    text = WEB.replace(
        "Transform: ProfileExpand", "Transform: ProfileExpand\nParameters:\n  X:\n    Type: String"
    )
    source = write(tmp_path, "web.yaml", text)

    assert main(["lint", str(source), "--ignore-checks", "W2001"]) == 0
    assert capsys.readouterr().out == ""


def test_lint_takes_several_templates_as_pre_commit_passes_them(tmp_path, capsys):
    clean = write(tmp_path, "clean.yaml", WEB)
    typo = write(tmp_path, "typo.yaml", WEB.replace("ImageId:", "ImageIdd:"))
    broken = write(tmp_path, "broken.yaml", BAD_YAML)

    code = main(["lint", str(clean), str(typo), str(broken), "--format", "parseable"])

    captured = capsys.readouterr()
    assert code == 2
    findings = [finding.split(":", 6) for finding in captured.out.splitlines()]
    assert {finding[0] for finding in findings} == {str(typo), str(broken)}
    assert [finding[1] for finding in findings if "ImageIdd" in finding[-1]] == [str(line_of(WEB, "ImageId"))]
    # The template the macro rejects is linted too: its errors are findings like any other.
    assert [str(line_of(BAD_YAML, "!Ref HostRol")), "E9002"] in [
        [f[1], f[5]] for f in findings if f[0] == str(broken)
    ]


def test_lint_template_errors_exit_as_cfn_lint_errors(tmp_path, capsys):
    source = write(tmp_path, "bad.yaml", BAD_YAML)

    assert main(["lint", str(source), "--format", "parseable"]) == 2

    line = line_of(BAD_YAML, "!Ref HostRol")
    assert f"{source}:{line}:7:{line}:14:E9002:Resource Web, Properties.IamRole" in capsys.readouterr().out


# -- issue 11: lint quiet on ordinary templates; the macro's deployed name ----------------------------

PLAIN_BUCKET = """\
Resources:
  Bucket:
    Type: AWS::S3::Bucket
"""


def test_lint_of_an_ordinary_template_without_the_shorthand_says_nothing(tmp_path, capsys):
    source = write(tmp_path, "plain.yaml", PLAIN_BUCKET)

    assert main(["lint", str(source)]) == 0

    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_lint_warns_of_the_missing_transform_only_where_the_shorthand_is_used(tmp_path, capsys):
    source = write(tmp_path, "plain.yaml", WEB.replace("Transform: ProfileExpand\n", ""))

    assert main(["lint", str(source)]) == 4

    assert (
        "W9001 Resource Web, Properties.IamRole: IamRole is ProfileExpand shorthand, but the template's Transform does not list"
        in (capsys.readouterr().out)
    )


TEAM_WEB = WEB.replace("Transform: ProfileExpand", "Transform: TeamExpand")


def test_expand_and_event_take_the_macro_name(tmp_path, capsys):
    source = write(tmp_path, "web.yaml", TEAM_WEB)

    assert main(["expand", "--macro-name", "TeamExpand", "--format", "json", str(source)]) == 0
    expanded = json.loads(capsys.readouterr().out)
    assert expanded["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "HostRoleInstanceProfile"
    }
    assert expanded["Transform"] == "TeamExpand"

    assert (
        main(["expand", "--macro-name", "TeamExpand", "--no-transform", "--format", "json", str(source)]) == 0
    )
    assert "Transform" not in json.loads(capsys.readouterr().out)

    assert main(["event", "--macro-name", "TeamExpand", str(source)]) == 0
    assert json.loads(capsys.readouterr().out)["transformId"] == "123456789012::TeamExpand"

    # Under the default name the template does not list the macro, and the preview says so.
    assert main(["expand", str(source)]) == 1
    assert "Transform lists TeamExpand but not ProfileExpand" in capsys.readouterr().err


def test_lint_takes_the_macro_name_for_the_rules_too(tmp_path, capsys):
    source = write(tmp_path, "web.yaml", TEAM_WEB)

    assert main(["lint", "--macro-name", "TeamExpand", str(source), "--format", "parseable"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")

    # The default name: W9001 and E3002, the shorthand reaches CloudFormation unexpanded.
    code = main(["lint", str(source), "--format", "parseable"])
    findings = capsys.readouterr().out
    assert code & 4
    assert "W9001" in findings
