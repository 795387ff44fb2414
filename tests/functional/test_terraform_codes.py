"""The catalogue's other mistakes on Terraform (issue 25): E9003-E9008 with the CloudFormation rules' codes
and words, trust read from jsonencode, heredocs and aws_iam_policy_document, and plans as JSON.

There is no terraform binary here: the plan is hand-written in the documented `terraform show -json` format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profile_expand.cli.main import main
from tests.support import ROOT

PLANS = ROOT / "tests" / "fixtures" / "terraform" / "plans"

EC2_TRUST = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }] })'
LAMBDA_TRUST = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }] })'


def module(trust: str = EC2_TRUST, profile: str = "", site: str = "") -> str:
    return (
        f'resource "aws_iam_role" "host" {{\n  name = "host"\n  assume_role_policy = {trust}\n}}\n'
        f'resource "aws_iam_instance_profile" "host" {{\n  name = "host-profile"\n  {profile or "role = aws_iam_role.host.name"}\n}}\n'
        f"{site}"
    )


def findings(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> list[tuple[str, int, str]]:
    (tmp_path / "main.tf").write_text(text)
    main(["lint", str(tmp_path), "--format", "json"])
    return [
        (f["Rule"]["Id"], f["Location"]["Start"]["LineNumber"], f["Message"])
        for f in json.loads(capsys.readouterr().out or "[]")
    ]


def line_with(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_e9003_profile_arn_where_the_name_belongs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(
        site='resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_instance_profile.host.arn\n}\n'
    )
    ((code, line, message),) = findings(tmp_path, capsys, text)
    assert (code, line) == ("E9003", line_with(text, "iam_instance_profile ="))
    assert (
        "aws_iam_instance_profile.host.arn is the ARN of instance profile aws_iam_instance_profile.host"
        in message
    )
    assert "write `aws_iam_instance_profile.host.name`" in message


def test_e9004_profile_name_where_the_arn_belongs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(
        site='resource "aws_launch_template" "web" {\n  iam_instance_profile {\n    arn = aws_iam_instance_profile.host.name\n  }\n}\n'
    )
    ((code, line, message),) = findings(tmp_path, capsys, text)
    assert (code, line) == ("E9004", line_with(text, "arn = aws_iam_instance_profile"))
    assert "write `aws_iam_instance_profile.host.arn`" in message


def test_e9005_role_arn_in_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(profile="role = aws_iam_role.host.arn")
    ((code, line, message),) = findings(tmp_path, capsys, text)
    assert (code, line) == ("E9005", line_with(text, "role = aws_iam_role.host.arn"))
    assert "role takes role names" in message and "write `aws_iam_role.host.name`" in message


@pytest.mark.parametrize(
    "trust",
    [
        LAMBDA_TRUST,
        '<<EOF\n{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}\nEOF',
        "data.aws_iam_policy_document.trust.json",
    ],
    ids=["jsonencode", "heredoc", "policy-document"],
)
def test_e9007_a_role_ec2_cannot_assume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trust: str
) -> None:
    document = (
        'data "aws_iam_policy_document" "trust" {\n  statement {\n    actions = ["sts:AssumeRole"]\n'
        '    principals {\n      type = "Service"\n      identifiers = ["lambda.amazonaws.com"]\n    }\n  }\n}\n'
    )
    text = module(
        trust=trust,
        site=document
        + 'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_instance_profile.host.name\n}\n',
    )
    ((code, line, message),) = findings(tmp_path, capsys, text)
    assert (code, line) == ("E9007", line_with(text, "assume_role_policy ="))
    assert message.startswith("aws_iam_role.host: role aws_iam_role.host is what EC2 instances get")


def test_trust_from_a_variable_is_never_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(
        trust="var.trust",
        site='resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_instance_profile.host.name\n}\n',
    )
    assert findings(tmp_path, capsys, text) == []


def test_e9008_rds_custom_profile_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(
        site='resource "aws_db_instance" "db" {\n  custom_iam_instance_profile = aws_iam_instance_profile.host.name\n}\n'
    )
    codes = {(code, line) for code, line, _ in findings(tmp_path, capsys, text)}
    assert ("E9008", line_with(text, 'name = "host-profile"')) in codes
    assert ("E9008", line_with(text, 'name = "host"')) in codes


def test_emr_takes_the_profile_arn_as_its_documentation_writes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = module(
        site='resource "aws_emr_cluster" "c" {\n  ec2_attributes {\n    instance_profile = aws_iam_instance_profile.host.arn\n  }\n}\n'
    )
    assert findings(tmp_path, capsys, text) == []


def test_a_literal_role_arn_is_e9001(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = module(
        site='resource "aws_launch_configuration" "lc" {\n  iam_instance_profile = "arn:aws:iam::123456789012:role/app"\n}\n'
    )
    assert [code for code, _, _ in findings(tmp_path, capsys, text)] == ["E9001"]


def test_tf_json_is_read_like_hcl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {
        "resource": {
            "aws_iam_role": {"host": {"name": "host", "assume_role_policy": "{}"}},
            "aws_instance": {"web": {"ami": "ami-1", "iam_instance_profile": "${aws_iam_role.host.name}"}},
        }
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(document, indent=2))
    main(["lint", str(tmp_path), "--format", "json"])
    (found,) = json.loads(capsys.readouterr().out)
    assert found["Rule"]["Id"] == "E9001"
    assert found["Location"]["Start"]["LineNumber"] == 12


def test_a_plan_names_each_resource_by_its_address(capsys: pytest.CaptureFixture[str]) -> None:
    plan = PLANS / "seed-plan.json"
    assert main(["lint", str(plan), "--format", "json"]) == 2
    found = json.loads(capsys.readouterr().out)
    text = plan.read_text()
    assert [
        (f["Rule"]["Id"], f["Location"]["Start"]["LineNumber"], f["Message"].split(":")[0]) for f in found
    ] == [
        ("E9006", line_with(text, '"module.web.aws_instance.this[0]"'), "module.web.aws_instance.this[0]"),
        (
            "E9001",
            line_with(text, '"module.web.aws_launch_template.this"'),
            "module.web.aws_launch_template.this",
        ),
    ]


def test_a_plan_and_a_template_in_one_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    assert main(["lint", str(template), str(PLANS / "seed-plan.json"), "--format", "json"]) == 2
    assert {Path(f["Filename"]).name for f in json.loads(capsys.readouterr().out)} == {"seed-plan.json"}


def test_a_plan_reads_what_is_unknown_until_apply_from_its_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A hand-written plan in Terraform's documented JSON format (no terraform binary runs here): sites
    whose value is unknown at plan time (absent from planned_values, true in after_unknown) are judged
    from the configuration section's references, child modules through module_calls; a site whose
    references are a profile, or more than one role's attribute (a conditional), is no finding."""
    plan = PLANS / "unknown-at-plan.json"
    assert main(["lint", str(plan), "--format", "json"]) == 2
    found = json.loads(capsys.readouterr().out)
    text = plan.read_text()
    at = {f["Message"].split(": ", 1)[0]: f for f in found}
    assert {f["Rule"]["Id"] for f in found} == {"E9001"}
    # aws_instance.good names a profile; aws_instance.either a role or a profile (a conditional).
    assert sorted(at) == [
        "aws_instance.root",
        "aws_spot_instance_request.spot",
        "module.web.aws_instance.this[0]",
        "module.web.aws_launch_template.this",
    ]
    for address, found_at in at.items():
        line = line_with(text, f'"address": "{address}"')
        assert found_at["Location"]["Start"]["LineNumber"] == line
    assert "is role aws_iam_role.app (an aws_iam_role)" in at["aws_instance.root"]["Message"]
    assert (
        "data.aws_iam_role.existing.name is role data.aws_iam_role.existing (an aws_iam_role)"
        in at["aws_spot_instance_request.spot"]["Message"]
    )
    assert at["module.web.aws_instance.this[0]"]["Message"] == (
        "module.web.aws_instance.this[0]: aws_iam_role.this.name is role module.web.aws_iam_role.this "
        "(an aws_iam_role), but iam_instance_profile takes an instance profile name. Add an "
        "aws_iam_instance_profile aws_iam_instance_profile.this with `role = aws_iam_role.this.name` "
        "and write `aws_iam_instance_profile.this.name` here."
    )
    assert (
        "aws_iam_role.this.arn is role module.web.aws_iam_role.this (an aws_iam_role), but "
        "iam_instance_profile.arn takes an instance profile ARN"
        in at["module.web.aws_launch_template.this"]["Message"]
    )


COUNTED_ROLES = """resource "aws_iam_role" "workers" {
  count              = 2
  name               = "worker-${count.index}"
  assume_role_policy = EC2_TRUST
}

locals {
  web_role = aws_iam_role.workers[0].name
}

resource "aws_instance" "worker" {
  count                = 2
  ami                  = "ami-12345678"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_role.workers[count.index].name
}

resource "aws_instance" "web" {
  ami                  = "ami-12345678"
  instance_type        = "t3.micro"
  iam_instance_profile = local.web_role
}
""".replace("EC2_TRUST", EC2_TRUST)


def test_each_site_is_quoted_as_written_and_keeps_its_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two sites name one counted role, one through a local: each message quotes its own site's expression
    (not the first spelling of the role in the module) and writes the profile with that site's index."""
    found = findings(tmp_path, capsys, COUNTED_ROLES)
    worker, web = line_with(COUNTED_ROLES, "[count.index].name"), line_with(COUNTED_ROLES, "= local.web_role")
    assert [(code, line) for code, line, _ in found] == [("E9001", worker), ("E9001", web)]
    (_, _, at_worker), (_, _, at_web) = found
    assert at_worker.startswith("aws_iam_role.workers[count.index].name is role aws_iam_role.workers")
    assert at_worker.endswith("write `aws_iam_instance_profile.workers[count.index].name` here.")
    assert at_web.startswith("local.web_role is role aws_iam_role.workers")
    assert at_web.endswith("write `aws_iam_instance_profile.workers[0].name` here.")
