"""The rollout's pure parts: the deployable template, reproducible code zips, the stack set template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import profile_expand
from profile_expand.cli import rollout_plan, stacksets
from profile_expand.lint.chain import without_transform


@pytest.mark.parametrize(
    ("transform", "left"),
    [
        ("ProfileExpand", None),
        (["ProfileExpand"], None),
        (["AWS::LanguageExtensions", "ProfileExpand"], "AWS::LanguageExtensions"),
        (["ProfileExpand", "AWS::Include", "Other"], ["AWS::Include", "Other"]),
    ],
)
def test_the_deployable_template_keeps_every_other_transform(transform: object, left: object) -> None:
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": transform, "Resources": {}}
    result = without_transform(template)
    assert result.get("Transform") == left
    # Key order kept: Transform stays where it was, or goes.
    assert list(result) == [k for k in template if k != "Transform" or left is not None]
    assert template["Transform"] == transform  # input untouched


def built_app(folder: Path, handler: str = "def handler(event, context):\n    return event\n") -> Path:
    (folder / "Fn" / "pkg").mkdir(parents=True)
    (folder / "Fn" / "pkg" / "app.py").write_text(handler)
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Metadata": {"AWS::ServerlessRepo::Application": {"ReadmeUrl": "../../README.md"}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "Fn", "Handler": "pkg.app.handler", "Runtime": "python3.13"},
            }
        },
    }
    (folder / "template.yaml").write_text(json.dumps(template))
    return folder / "template.yaml"


def test_same_code_same_zip_and_key_changed_code_new_key(tmp_path: Path) -> None:
    one = built_app(tmp_path / "one")
    two = built_app(tmp_path / "two")
    three = built_app(tmp_path / "three", handler="def handler(event, context):\n    return {}\n")
    plans = [
        rollout_plan.make_plan(p, regions=["eu-west-1"], accounts=["123456789012"], bucket_prefix="b")
        for p in (one, two, three)
    ]
    (a,), (b,), (c,) = (plan.artifacts for plan in plans)
    assert a.data == b.data and a.key == b.key  # other folder, other mtimes: same bytes
    assert c.key != a.key
    assert a.key.startswith(f"profile-expand/{profile_expand.__version__}/Fn-")


def test_stack_set_template_is_plain_cloudformation_with_regional_code(tmp_path: Path) -> None:
    plan = rollout_plan.make_plan(
        built_app(tmp_path),
        regions=["eu-west-1", "us-east-1"],
        accounts=["123456789012"],
        bucket_prefix="acme",
    )
    template = plan.template
    assert "Transform" not in template and "Metadata" not in template
    function = template["Resources"]["Fn"]
    assert function["Type"] == "AWS::Lambda::Function"
    assert function["Properties"]["Code"] == {
        "S3Bucket": {"Fn::Sub": "acme-${AWS::Region}"},
        "S3Key": plan.artifacts[0].key,
    }
    assert plan.buckets == {"eu-west-1": "acme-eu-west-1", "us-east-1": "acme-us-east-1"}
    text = rollout_plan.describe(plan)
    assert "1 account(s) x 2 region(s) = 2" in text and "s3://acme-eu-west-1" in text


def test_duplicates_in_regions_and_accounts_count_once(tmp_path: Path) -> None:
    plan = rollout_plan.make_plan(
        built_app(tmp_path),
        regions=["eu-west-1", "eu-west-1 "],
        accounts=["123456789012"] * 2,
        bucket_prefix="a-b",
    )
    assert plan.regions == ("eu-west-1",) and plan.accounts == ("123456789012",)


def test_missing_code_folder_is_named(tmp_path: Path) -> None:
    template = built_app(tmp_path)
    (tmp_path / "Fn" / "pkg" / "app.py").unlink()
    (tmp_path / "Fn" / "pkg").rmdir()
    (tmp_path / "Fn").rmdir()
    with pytest.raises(rollout_plan.RolloutError, match=r"resource Fn: its code folder .* does not exist"):
        rollout_plan.make_plan(template, regions=["eu-west-1"], accounts=["123456789012"], bucket_prefix="a")


def app_with_parameters(folder: Path) -> Path:
    path = built_app(folder)
    template = json.loads(path.read_text())
    template["Parameters"] = {
        "FailureMode": {"Type": "String", "Default": "WARN", "AllowedValues": ["WARN", "FAIL"]},
        "LogRetentionInDays": {"Type": "Number", "Default": 30, "AllowedValues": [1, 30, 365]},
        "MacroName": {"Type": "String", "AllowedPattern": "^[A-Za-z0-9_-]{1,50}$"},
        "Zones": {"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]},
        "Free": {"Type": "String"},
    }
    path.write_text(json.dumps(template))
    return path


def plan_with(path: Path, **parameters: str) -> rollout_plan.Plan:
    return rollout_plan.make_plan(
        path, regions=["eu-west-1"], accounts=["123456789012"], bucket_prefix="a", parameters=parameters
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"FailureMode": "STOP"},
            "--parameter FailureMode=STOP: 'STOP' is not an allowed value of FailureMode "
            "(AllowedValues: WARN, FAIL)",
        ),
        (
            {"LogRetentionInDays": "31"},
            "'31' is not an allowed value of LogRetentionInDays (AllowedValues: 1, 30, 365)",
        ),
        (
            {"MacroName": "Profile Expand"},
            "--parameter MacroName=Profile Expand: 'Profile Expand' does not match the AllowedPattern of "
            "MacroName, ^[A-Za-z0-9_-]{1,50}$",
        ),
        ({"Zones": "a,c"}, "'c' is not an allowed value of Zones (AllowedValues: a, b)"),
    ],
)
def test_a_parameter_value_the_template_does_not_allow_is_refused(
    tmp_path: Path, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(rollout_plan.RolloutError) as raised:
        plan_with(app_with_parameters(tmp_path), **parameters)
    assert message in str(raised.value)


def test_allowed_parameter_values_pass(tmp_path: Path) -> None:
    plan = plan_with(
        app_with_parameters(tmp_path),
        FailureMode="FAIL",
        LogRetentionInDays="365",
        MacroName="Team_Expand-2",
        Zones="a, b",
        Free="anything at all",
    )
    assert "Parameters: FailureMode=FAIL, LogRetentionInDays=365" in rollout_plan.describe(plan)


def test_every_wrong_value_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(rollout_plan.RolloutError) as raised:
        plan_with(app_with_parameters(tmp_path), FailureMode="STOP", MacroName="a b")
    assert "FailureMode" in str(raised.value) and "MacroName" in str(raised.value)


def test_call_as_delegated_admin_needs_organizational_units(tmp_path: Path) -> None:
    with pytest.raises(rollout_plan.RolloutError, match="--call-as DELEGATED_ADMIN is for service-managed"):
        rollout_plan.make_plan(
            built_app(tmp_path),
            regions=["eu-west-1"],
            accounts=["123456789012"],
            bucket_prefix="a",
            call_as="DELEGATED_ADMIN",
        )
    plan = rollout_plan.make_plan(
        built_app(tmp_path / "ou"),
        regions=["eu-west-1"],
        organizational_units=["ou-ab12-cd34ef56"],
        accounts=[],
        bucket_prefix="a",
        call_as="DELEGATED_ADMIN",
    )
    assert plan.call_as == "DELEGATED_ADMIN"
    assert "every StackSets call made with CallAs DELEGATED_ADMIN" in rollout_plan.describe(plan)


class FailedOperation:
    """A CloudFormation client whose stack set operation has failed (no AWS: the answer is made up)."""

    def describe_stack_set_operation(self, **params: str) -> dict[str, dict[str, str]]:
        return {"StackSetOperation": {"Status": "FAILED"}}


@pytest.mark.parametrize(
    ("call_as", "see"),
    [
        (None, "--operation-id op-1`"),
        ("DELEGATED_ADMIN", "--operation-id op-1 --call-as DELEGATED_ADMIN`"),
    ],
)
def test_a_failed_operation_names_the_command_that_shows_why(
    tmp_path: Path, call_as: str | None, see: str
) -> None:
    # A delegated administrator's `aws cloudformation list-stack-set-operation-results` needs --call-as too.
    plan = rollout_plan.make_plan(
        built_app(tmp_path),
        regions=["eu-west-1"],
        accounts=[],
        organizational_units=["ou-ab12-cd34ef56"],
        bucket_prefix="a",
        call_as=call_as,
    )
    with pytest.raises(rollout_plan.RolloutError) as raised:
        stacksets._wait(FailedOperation(), plan, "op-1", 1, 10, lambda _: None, lambda _: None)
    assert str(raised.value).endswith(f"--stack-set-name {plan.stack_set_name} {see}")
