"""`profile-expand rollout --guard` on moto: the built guard.yaml through a self-managed stack set to
accounts, and a service-managed one to organizational units; regions without Lambda hooks refused.

What moto 5.2.5 models: Organizations (an OU and its accounts), service-managed stack sets placing an
instance in each account of the OU, the function created from the regional bucket. What it does not:
AWS::CloudFormation::LambdaHook (a stack skips it with a warning and still completes, so no hook exists
afterwards and none is ever invoked); AutoDeployment (accepted, not acted on: no account joining later is
deployed to); the service-linked roles of service-managed stack sets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from profile_expand.cli import rollout_plan, stacksets
from profile_expand.cli.main import main
from tests.integration.conftest import (
    bundled_layers,
    fresh_aws,
    organization_with_a_member,
    record_cloudformation_calls,
    sam_build_source_only,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's account
PREFIX = "acme-guard"


@pytest.fixture(scope="module")
def guard_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build -t guard.yaml`, source only (the bytecode step is the macro's test_sam_app's)."""
    return sam_build_source_only("guard.yaml", tmp_path_factory.mktemp("guard") / "build") / "template.yaml"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_aws(monkeypatch, "us-east-1")


def _rollout(built: Path, *options: str) -> int:
    return main(["rollout", "--guard", "--bucket-prefix", PREFIX, "--built-template", str(built), *options])


def test_the_guard_goes_to_accounts_through_a_self_managed_stack_set(guard_built: Path, aws: None) -> None:
    assert _rollout(guard_built, "--accounts", ACCOUNT, "--regions", "us-east-1,eu-west-1") == 0

    cloudformation = boto3.client("cloudformation")
    stack_set = cloudformation.describe_stack_set(StackSetName=rollout_plan.DEFAULT_GUARD_STACK_SET)[
        "StackSet"
    ]
    assert stack_set["PermissionModel"] == "SELF_MANAGED"
    assert stack_set["Description"].startswith("ProfileExpand guard")
    body = json.loads(stack_set["TemplateBody"])
    assert "Transform" not in body
    assert (
        sorted(r["Type"] for r in body["Resources"].values() if "Hook" in r["Type"])
        == ["AWS::CloudFormation::LambdaHook"] * 2
    )
    for region in ("us-east-1", "eu-west-1"):
        names = [
            f["FunctionName"]
            for f in boto3.client("lambda", region_name=region).list_functions()["Functions"]
        ]
        assert names == ["profile-expand-guard"]


def test_the_guard_goes_to_organizational_units_through_a_service_managed_stack_set(
    guard_built: Path, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    organization, unit, member = organization_with_a_member()

    assert _rollout(guard_built, "--organizational-units", unit, "--regions", "us-east-1") == 0

    out = capsys.readouterr().out
    assert "service-managed" in out and "management account gets no instance" in out
    cloudformation = boto3.client("cloudformation")
    stack_set = cloudformation.describe_stack_set(StackSetName=rollout_plan.DEFAULT_GUARD_STACK_SET)[
        "StackSet"
    ]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    instances = cloudformation.list_stack_instances(StackSetName=rollout_plan.DEFAULT_GUARD_STACK_SET)[
        "Summaries"
    ]
    assert [(i["Account"], i["Region"]) for i in instances] == [(member, "us-east-1")]
    policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=f"{PREFIX}-us-east-1")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": organization}}


@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1"])
def test_regions_without_lambda_hooks_are_refused_before_anything_is_done(
    guard_built: Path, aws: None, capsys: pytest.CaptureFixture[str], region: str
) -> None:
    assert _rollout(guard_built, "--accounts", ACCOUNT, "--regions", f"us-east-1,{region}") == 2

    error = capsys.readouterr().err
    assert f"region {region}: AWS::CloudFormation::LambdaHook does not exist there" in error
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_accounts_and_organizational_units_do_not_mix(guard_built: Path, aws: None) -> None:
    both = ("--accounts", ACCOUNT, "--organizational-units", "ou-ab12-cd34ef56", "--regions", "us-east-1")
    assert _rollout(guard_built, *both) == 2
    with pytest.raises(rollout_plan.RolloutError, match="cannot be mixed"):
        rollout_plan.make_plan(
            guard_built,
            regions=["us-east-1"],
            accounts=[ACCOUNT],
            organizational_units=["ou-ab12-cd34ef56"],
            bucket_prefix=PREFIX,
        )


def test_the_guard_bundle_holds_its_handlers_modules_and_iams_model_only(guard_built: Path) -> None:
    bundle = guard_built.parent / "GuardFunction"
    package = bundle / "profile_expand"
    modules = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert {
        "guard/handler.py",
        "guard/hook.py",
        "core/account.py",
        "guard/aws.py",
        "core/template_text.py",
        "core/pipeline.py",
    } <= modules
    assert not modules & {
        "cli/main.py",
        "cli/yaml_io.py",
        "cli/rollout.py",
        "macro/handler.py",
        "cli/migrate.py",
    }
    assert not (bundle / "profile_expand" / "lint").exists()
    assert sorted(p.name for p in (bundle / "botocore" / "data").iterdir() if p.is_dir()) == ["iam"]
    # One compiled extension, libyaml's, built for the function's arm64 (issue 24).
    assert [p.relative_to(bundle).as_posix().split(".")[0] for p in bundle.rglob("*.so")] == ["yaml/_yaml"]
    assert (bundle / "yaml" / "__init__.py").exists() and (bundle / "boto3").is_dir()


def test_the_guard_bundle_is_the_core_and_the_guard_only(guard_built: Path) -> None:
    # Issue 22: a Lambda bundle is the core plus its own front end; no macro, lint or cli module.
    assert bundled_layers(guard_built.parent / "GuardFunction") == {"core", "guard"}


def test_a_delegated_administrator_sends_call_as_on_every_stack_sets_call(
    guard_built: Path, aws: None
) -> None:
    # Issue 24. moto 5.2.5 accepts CallAs and ignores it (no delegated administrators, no refusal of a
    # missing CallAs), so what is checked is what the rollout sends: botocore's model says which operations
    # take CallAs, and each call of those must carry it, first rollout (create) and second (update).
    _, unit, member = organization_with_a_member()
    plan = rollout_plan.make_plan(
        guard_built,
        regions=["us-east-1"],
        accounts=[],
        organizational_units=[unit],
        bucket_prefix=PREFIX,
        call_as="DELEGATED_ADMIN",
    )
    session = boto3.session.Session()
    calls = record_cloudformation_calls(session)
    for _ in range(2):
        stacksets.apply(plan, session, say=lambda _: None, sleep=lambda _: None)

    sent = {(model.name, params.get("CallAs")) for model, params in calls}
    assert sent == {
        (operation, "DELEGATED_ADMIN")
        for operation in (
            "DescribeStackSet",
            "CreateStackSet",
            "CreateStackInstances",
            "DescribeStackSetOperation",
            "ListStackInstances",
            "UpdateStackSet",
        )
    }
    assert [model.name for model, _ in calls if "CallAs" not in model.input_shape.members] == []
    instances = boto3.client("cloudformation").list_stack_instances(StackSetName=plan.stack_set_name)
    assert [i["Account"] for i in instances["Summaries"]] == [member]


def test_call_as_is_a_choice_of_the_command_and_shown_in_the_dry_run(
    guard_built: Path, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = "ou-ab12-cd34ef56"
    options = ("--organizational-units", unit, "--regions", "us-east-1", "--dry-run")
    assert _rollout(guard_built, *options, "--call-as", "DELEGATED_ADMIN") == 0
    assert "every StackSets call made with CallAs DELEGATED_ADMIN" in capsys.readouterr().out
    assert _rollout(guard_built, *options, "--call-as", "ADMIN") == 2
    assert "invalid choice: 'ADMIN'" in capsys.readouterr().err
    assert (
        _rollout(guard_built, "--accounts", ACCOUNT, "--regions", "us-east-1", "--call-as", "DELEGATED_ADMIN")
        == 2
    )
    assert "--call-as DELEGATED_ADMIN is for service-managed stack sets" in capsys.readouterr().err


@pytest.mark.parametrize("dry_run", [("--dry-run",), ()], ids=["dry run", "real run"])
def test_a_parameter_value_the_guard_does_not_allow_is_refused_before_any_aws_call(
    guard_built: Path, aws: None, capsys: pytest.CaptureFixture[str], dry_run: tuple[str, ...]
) -> None:
    # Issue 24: FailureMode=STOP was accepted by the dry run; CloudFormation refuses it on every instance.
    options = ("--accounts", ACCOUNT, "--regions", "us-east-1", "--parameter", "FailureMode=STOP")
    assert _rollout(guard_built, *options, *dry_run) == 2
    error = capsys.readouterr().err
    assert (
        "--parameter FailureMode=STOP: 'STOP' is not an allowed value of FailureMode (AllowedValues: WARN, FAIL)"
        in error
    )
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("cloudformation").list_stack_sets()["Summaries"] == []
