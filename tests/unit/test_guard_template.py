"""guard.yaml as deployed: plain CloudFormation (no Transform), read-only IAM for the function, a hook role
only CloudFormation's hooks service of this account may assume, targets in step with the sites table."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint  # type: ignore[import-untyped]

from profile_expand.core.template_text import load_template
from profile_expand.guard.hook import GUARDED_TYPES

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "guard.yaml"
TEMPLATE: dict[str, Any] = load_template(GUARD.read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def _of_type(kind: str) -> dict[str, Any]:
    return {lid: r for lid, r in RESOURCES.items() if r["Type"] == kind}


def test_the_guard_uses_no_transform_so_service_managed_stack_sets_can_deploy_it() -> None:
    assert "Transform" not in TEMPLATE
    assert not [r for r in RESOURCES.values() if r["Type"].startswith("AWS::Serverless::")]


def test_cfn_lint_finds_nothing() -> None:
    # cfn-lint's defaults, as `cfn-lint guard.yaml` runs them (and `make sam-validate`).
    assert [str(match) for match in lint(GUARD.read_text(encoding="utf-8"))] == []


def test_the_resource_hooks_targets_are_the_sites_tables_types() -> None:
    script = importlib.util.spec_from_file_location("guard_targets", ROOT / "scripts" / "guard_targets.py")
    assert script is not None and script.loader is not None
    module = importlib.util.module_from_spec(script)
    script.loader.exec_module(module)
    text = GUARD.read_text(encoding="utf-8")
    assert module.render(text) == text, "guard.yaml is stale: run `python scripts/guard_targets.py`"
    hook = RESOURCES["ResourceHook"]["Properties"]
    assert hook["TargetFilters"]["TargetNames"] == list(GUARDED_TYPES)
    assert set(hook["TargetOperations"]) == {"RESOURCE", "CLOUD_CONTROL"}


def test_the_render_would_change_a_stale_target_list() -> None:
    script = importlib.util.spec_from_file_location("guard_targets", ROOT / "scripts" / "guard_targets.py")
    assert script is not None and script.loader is not None
    module = importlib.util.module_from_spec(script)
    script.loader.exec_module(module)
    stale = GUARD.read_text(encoding="utf-8").replace("          - AWS::EMR::Cluster\n", "")
    assert "AWS::EMR::Cluster" in module.render(stale)


@pytest.mark.parametrize("hook", ["ResourceHook", "StackHook"])
def test_each_hook_defaults_to_warn_and_skips_the_guards_own_stack(hook: str) -> None:
    properties = RESOURCES[hook]["Properties"]
    assert properties["FailureMode"] == {"Ref": "FailureMode"}
    assert TEMPLATE["Parameters"]["FailureMode"]["Default"] == "WARN"
    assert properties["StackFilters"]["StackNames"]["Exclude"] == [{"Ref": "AWS::StackName"}]
    assert properties["LambdaFunction"] == {"Fn::GetAtt": ["GuardFunction", "Arn"]}
    assert properties["ExecutionRole"] == {"Fn::GetAtt": ["HookExecutionRole", "Arn"]}


def test_stacks_and_change_sets_have_their_own_hook() -> None:
    assert set(RESOURCES["StackHook"]["Properties"]["TargetOperations"]) == {"STACK", "CHANGE_SET"}


def test_the_hook_role_trusts_only_cloudformation_hooks_of_this_account_to_invoke_the_guard() -> None:
    role = RESOURCES["HookExecutionRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "hooks.cloudformation.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = role["Policies"]
    (allowed,) = policy["PolicyDocument"]["Statement"]
    assert (allowed["Action"], allowed["Resource"]) == (
        "lambda:InvokeFunction",
        {"Fn::GetAtt": ["GuardFunction", "Arn"]},
    )


def test_the_function_may_only_read_profiles_and_roles_of_this_account_and_write_its_logs() -> None:
    role = RESOURCES["GuardFunctionRole"]["Properties"]
    actions: dict[str, Any] = {}
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in (
                [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            ):
                actions[action] = statement["Resource"]
    assert set(actions) == {
        "iam:GetInstanceProfile",
        "iam:GetRole",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert "${AWS::AccountId}:instance-profile/*" in actions["iam:GetInstanceProfile"]["Fn::Sub"]
    assert "${AWS::AccountId}:role/*" in actions["iam:GetRole"]["Fn::Sub"]


def test_the_function_is_python313_arm64_with_the_guard_handler_and_its_log_group() -> None:
    (function,) = _of_type("AWS::Lambda::Function").values()
    properties = function["Properties"]
    assert (properties["Runtime"], properties["Architectures"]) == ("python3.13", ["arm64"])
    assert properties["Handler"] == "profile_expand.guard.handler.lambda_handler"
    assert properties["Timeout"] < 30  # the hook's own limit per invocation
    assert properties["LoggingConfig"] == {"LogGroup": {"Ref": "GuardLogGroup"}}
    assert function["Metadata"]["BuildMethod"] == "makefile"


def test_the_log_group_takes_an_optional_kms_key() -> None:
    group = RESOURCES["GuardLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {
        "Fn::If": ["HasLogGroupKmsKey", {"Ref": "LogGroupKmsKeyArn"}, {"Ref": "AWS::NoValue"}]
    }
    assert TEMPLATE["Parameters"]["LogGroupKmsKeyArn"]["Default"] == ""


def test_no_reserved_concurrency_caps_the_guard() -> None:
    # A reserve is a cap too: a throttled invocation is a hook failure, which FAIL mode makes a blocked stack.
    (function,) = _of_type("AWS::Lambda::Function").values()
    assert "ReservedConcurrentExecutions" not in function["Properties"]
