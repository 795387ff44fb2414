"""`profile-expand rollout` on moto: the sam build output, one bucket per region, a self-managed stack set.

What moto 5.2.5 models here: S3 buckets and objects per region, self-managed stack sets and their
instances (each instance is a real moto stack in its region), the Lambda function created from
S3Bucket/S3Key. What it does not: AWS::CloudFormation::Macro (moto logs "No Moto CloudFormation support"
and skips the resource, so no macro exists afterwards); the administration and execution roles (moto
assumes nothing); a missing code object (moto then creates the function with empty code instead of
failing, which is why the tests compare each function's CodeSha256 with the zip's).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import profile_expand
from profile_expand.cli import rollout_plan, stacksets
from profile_expand.cli.main import main
from tests.integration.conftest import fresh_aws, organization_with_a_member

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"  # moto's account
REGIONS = ("us-east-1", "eu-west-1")
PREFIX = "acme-macro"


@pytest.fixture
def built(sam_build_dir: Path) -> Path:
    """The built template's path (the run's one `sam build`)."""
    return sam_build_dir / "template.yaml"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh in-process AWS in the first region of the rollout."""
    yield from fresh_aws(monkeypatch, REGIONS[0])


def run_rollout(built: Path, *extra: str, regions: tuple[str, ...] = REGIONS, accounts: str = ACCOUNT) -> int:
    return main(
        [
            "rollout",
            "--regions",
            ",".join(regions),
            "--accounts",
            accounts,
            "--bucket-prefix",
            PREFIX,
            "--built-template",
            str(built),
            *extra,
        ]
    )


def functions(region: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("lambda", region_name=region).list_functions()["Functions"]
    return found


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_dry_run_prints_the_plan_and_touches_nothing(
    built: Path, aws: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template_out = tmp_path / "stack-set.json"
    code = run_rollout(
        built,
        "--dry-run",
        "--parameter",
        "MacroName=Expand2",
        "--template-out",
        str(template_out),
        accounts=f"{ACCOUNT},111122223333",
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "self-managed" in out and "Dry run: nothing was created or changed." in out
    assert f"s3://{PREFIX}-us-east-1" in out and f"s3://{PREFIX}-eu-west-1" in out
    assert "2 account(s) x 2 region(s) = 4" in out
    assert "Parameters: MacroName=Expand2" in out
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("cloudformation").list_stack_sets()["Summaries"] == []
    # The stack set's template is the built SAM app as plain CloudFormation, code from the region's bucket.
    template = json.loads(template_out.read_text())
    assert "Transform" not in template
    types = sorted(resource["Type"] for resource in template["Resources"].values())
    assert types == [
        "AWS::CloudFormation::Macro",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
    ]
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Code"]["S3Bucket"] == {"Fn::Sub": f"{PREFIX}-${{AWS::Region}}"}
    assert function["Properties"]["Code"]["S3Key"].startswith(f"profile-expand/{profile_expand.__version__}/")


def test_rollout_to_two_regions_deploys_the_function_from_each_regions_bucket(
    built: Path, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_rollout(built) == 0
    out = capsys.readouterr().out
    plan = rollout_plan.make_plan(built, regions=REGIONS, accounts=[ACCOUNT], bucket_prefix=PREFIX)
    (artifact,) = plan.artifacts
    # The zip holds the handler as sam build bundled it.
    names = zipfile.ZipFile(io.BytesIO(artifact.data)).namelist()
    assert "profile_expand/macro/handler.py" in names and "profile_expand/cli/main.py" not in names
    for region in REGIONS:
        s3 = boto3.client("s3", region_name=region)
        bucket = f"{PREFIX}-{region}"
        location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
        assert (location or "us-east-1") == region
        assert s3.get_object(Bucket=bucket, Key=artifact.key)["Body"].read() == artifact.data
        assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"][
            "BlockPublicPolicy"
        ]
        (function,) = functions(region)
        assert function["CodeSha256"] == code_sha256(artifact.data), f"{region}: code not from {bucket}"
        assert function["Runtime"] == "python3.13"
    cloudformation = boto3.client("cloudformation", region_name=REGIONS[0])
    stack_set = cloudformation.describe_stack_set(StackSetName=rollout_plan.DEFAULT_STACK_SET)["StackSet"]
    assert stack_set["PermissionModel"] == "SELF_MANAGED"
    instances = cloudformation.list_stack_instances(StackSetName=rollout_plan.DEFAULT_STACK_SET)["Summaries"]
    assert sorted(
        (i["Region"], i["Status"], i["StackInstanceStatus"]["DetailedStatus"]) for i in instances
    ) == [
        ("eu-west-1", "CURRENT", "SUCCEEDED"),
        ("us-east-1", "CURRENT", "SUCCEEDED"),
    ]
    assert f"{ACCOUNT} eu-west-1 CURRENT/SUCCEEDED" in out


def test_second_rollout_updates_the_stack_set_and_adds_a_region(
    built: Path, aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_rollout(built, regions=REGIONS[:1]) == 0
    first_key = (
        rollout_plan.make_plan(built, regions=REGIONS, accounts=[ACCOUNT], bucket_prefix=PREFIX)
        .artifacts[0]
        .key
    )
    # A changed bundle: a copy of the build with one more file.
    changed = tmp_path / "build"
    subprocess.run(["cp", "-r", str(built.parent), str(changed)], check=True)
    (changed / "ProfileExpandFunction" / "NOTICE").write_text("changed\n")
    capsys.readouterr()
    assert run_rollout(changed / "template.yaml") == 0
    out = capsys.readouterr().out
    assert "updating stack set" in out and "adding 1 stack instance(s)" in out
    (artifact,) = rollout_plan.make_plan(
        changed / "template.yaml", regions=REGIONS, accounts=[ACCOUNT], bucket_prefix=PREFIX
    ).artifacts
    assert artifact.key != first_key
    cloudformation = boto3.client("cloudformation")
    # The stack set now deploys the new key, which every region's bucket holds. (moto's update_stack_set
    # changes the stack set's record but redeploys no instance, and an instance added later is built
    # from the template the stack set was created with: the functions' code is not checked after it.)
    body = json.loads(
        cloudformation.describe_stack_set(StackSetName=rollout_plan.DEFAULT_STACK_SET)["StackSet"][
            "TemplateBody"
        ]
    )
    (function,) = [r for r in body["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Code"]["S3Key"] == artifact.key
    for region in REGIONS:
        s3 = boto3.client("s3", region_name=region)
        assert s3.get_object(Bucket=f"{PREFIX}-{region}", Key=artifact.key)["Body"].read() == artifact.data
    instances = cloudformation.list_stack_instances(StackSetName=rollout_plan.DEFAULT_STACK_SET)
    assert sorted(i["Region"] for i in instances["Summaries"]) == sorted(REGIONS)
    # A third run with nothing changed uploads nothing and adds no instance.
    capsys.readouterr()
    assert run_rollout(changed / "template.yaml") == 0
    out = capsys.readouterr().out
    assert out.count("already there (same digest)") == len(REGIONS) and "adding" not in out


def test_other_accounts_may_read_the_code_in_new_buckets(built: Path, aws: None) -> None:
    other = "111122223333"
    plan = rollout_plan.make_plan(built, regions=REGIONS[:1], accounts=[ACCOUNT, other], bucket_prefix=PREFIX)
    stacksets.apply(plan, boto3.session.Session(), say=lambda _: None, sleep=lambda _: None)
    policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=f"{PREFIX}-us-east-1")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"]["AWS"] == [f"arn:aws:iam::{other}:root"]
    assert statement["Action"] == "s3:GetObject"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--regions", "eu-west-1,Europe"], "region 'Europe' is not a region name"),
        (["--accounts", "12345"], "account '12345' is not a 12-digit account ID"),
        (["--bucket-prefix", "Acme_Macro"], "bucket 'Acme_Macro-eu-west-1'"),
        (["--parameter", "NoSuchParameter=1"], "--parameter NoSuchParameter: not a parameter of"),
        (["--built-template", "no/such/template.yaml"], "run `sam build` first"),
    ],
)
def test_bad_options_are_named_and_nothing_is_done(
    built: Path, aws: None, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    base = {
        "--regions": "eu-west-1",
        "--accounts": ACCOUNT,
        "--bucket-prefix": PREFIX,
        "--built-template": str(built),
    }
    args = dict(base)
    extra: list[str] = []
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag in args:
            args[flag] = value
        else:
            extra += [flag, value]
    argv = ["rollout", *[part for item in args.items() for part in item], *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_a_bucket_name_taken_elsewhere_is_named(built: Path) -> None:
    # moto has no second owner of a global bucket name; S3 answers HeadBucket on another's bucket with 403.
    from botocore.exceptions import ClientError

    class TakenBucket:
        def head_bucket(self, Bucket: str) -> None:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")

    plan = rollout_plan.make_plan(built, regions=REGIONS[:1], accounts=[ACCOUNT], bucket_prefix=PREFIX)
    with pytest.raises(
        rollout_plan.RolloutError, match=f"s3://{PREFIX}-us-east-1 exists but this account may not use it"
    ):
        stacksets._ensure_bucket(TakenBucket(), f"{PREFIX}-us-east-1", "us-east-1", plan, ACCOUNT, print)


def test_the_macro_goes_to_organizational_units_through_a_service_managed_stack_set(
    built: Path, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 24: the command accepts OUs for the macro as for the guard. Service-managed stack sets cannot
    # deploy templates that *use* a macro; this one is plain CloudFormation that creates it.
    organization, unit, member = organization_with_a_member()
    argv = ["rollout", "--regions", "us-east-1", "--organizational-units", unit, "--bucket-prefix", PREFIX]
    assert main([*argv, "--built-template", str(built)]) == 0

    out = capsys.readouterr().out
    assert "ProfileExpand macro; service-managed permissions" in out
    cloudformation = boto3.client("cloudformation")
    stack_set = cloudformation.describe_stack_set(StackSetName=rollout_plan.DEFAULT_STACK_SET)["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    body = json.loads(stack_set["TemplateBody"])
    assert "Transform" not in body
    assert [r["Type"] for r in body["Resources"].values()].count("AWS::CloudFormation::Macro") == 1
    instances = cloudformation.list_stack_instances(StackSetName=rollout_plan.DEFAULT_STACK_SET)["Summaries"]
    assert [(i["Account"], i["Region"]) for i in instances] == [(member, "us-east-1")]
    policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=f"{PREFIX}-us-east-1")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": organization}}
