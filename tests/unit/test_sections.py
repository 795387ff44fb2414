"""Sections that are not what they should be get a located error, never a silent fix or an internal
error (issue 17 item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from profile_expand import InvalidTemplateError, expand
from profile_expand.macro.handler import lambda_handler
from tests.support import FakeLambdaContext, macro_event

ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
WEB = {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": "AppRole"}}
IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}}
DEPTH = 800


def _error(template: dict[str, Any]) -> str:
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    return str(raised.value)


@pytest.mark.parametrize("conditions", [["IsProd"], "IsProd", None])
def test_a_conditions_section_that_is_not_a_mapping_is_an_error(conditions: Any) -> None:
    template = {
        "Conditions": conditions,
        "Resources": {"AppRole": {**ROLE, "Condition": "IsProd"}, "Web": {**WEB, "Condition": "IsProd"}},
    }
    message = _error(template)
    assert "Template" in message and "Conditions must be a mapping" in message


@pytest.mark.parametrize("condition", ["Missing", ["IsProd"]])
def test_a_resource_condition_naming_no_condition_is_an_error(condition: Any) -> None:
    template = {"Conditions": IS_PROD, "Resources": {"AppRole": ROLE, "Web": {**WEB, "Condition": condition}}}
    message = _error(template)
    assert "Resource Web, Condition:" in message
    assert (
        "Missing" in message and "is not defined in Conditions" in message
    ) or "a condition name" in message


def _deep(innermost: Any) -> Any:
    node = innermost
    for _ in range(DEPTH):
        node = {"Fn::If": ["IsProd", node, {"Ref": "AWS::NoValue"}]}
    return node


@pytest.mark.parametrize(
    "resource",
    [
        # around the container the shorthand sits in
        {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": _deep({"IamRole": "AppRole"})},
        },
        # the profile property's own value
        {
            "Type": "AWS::EC2::Instance",
            "Properties": {"IamInstanceProfile": _deep({"Fn::GetAtt": ["P", "Arn"]})},
        },
        # a list item of a site
        {
            "Type": "AWS::EC2::SpotFleet",
            "Properties": {
                "SpotFleetRequestConfigData": {"LaunchSpecifications": [_deep({"IamRole": "AppRole"})]}
            },
        },
    ],
    ids=["container", "profile-property", "list-item"],
)
def test_fn_if_nested_800_deep_outside_iam_role_is_a_located_error(resource: dict[str, Any]) -> None:
    template = {
        "Conditions": IS_PROD,
        "Resources": {
            "AppRole": ROLE,
            "P": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}},
            "Site": resource,
        },
    }
    response = lambda_handler(macro_event(template, request_id="deep"), FakeLambdaContext())
    assert response["status"] == "failure"
    assert "internal error" not in response["errorMessage"]
    assert "Resource Site" in response["errorMessage"]
    assert "Fn::If is nested more than 32 levels deep here" in response["errorMessage"]
