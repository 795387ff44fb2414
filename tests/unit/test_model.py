"""The Model: one account of a template that the macro renders from and the lint rules filter."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import profile_expand.core.errors
from profile_expand import InvalidTemplateError, expand
from profile_expand.core.errors import ProfileExpandError
from profile_expand.core.model import PROFILE, PROFILE_WRONG_FORM, ROLE, SHORTHAND, UNKNOWN
from profile_expand.core.pipeline import analyse

ROLE_RESOURCE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
PROFILE_RESOURCE = {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}}


def _instance(properties: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1", **properties}}


def _template(**resources: Any) -> dict[str, Any]:
    return {
        "Conditions": {"IsProd": {"Fn::Equals": ["a", "b"]}},
        "Resources": {"AppRole": ROLE_RESOURCE, "AppProfile": PROFILE_RESOURCE, **resources},
    }


@pytest.mark.parametrize(
    ("properties", "kind"),
    [
        ({"IamRole": {"Ref": "AppRole"}}, SHORTHAND),
        ({"IamInstanceProfile": {"Ref": "AppRole"}}, ROLE),
        ({"IamInstanceProfile": "arn:aws:iam::123456789012:role/app"}, ROLE),
        ({"IamInstanceProfile": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app"}}, ROLE),
        ({"IamInstanceProfile": {"Ref": "AppProfile"}}, PROFILE),
        ({"IamInstanceProfile": {"Fn::GetAtt": ["AppProfile", "Arn"]}}, PROFILE_WRONG_FORM),
        ({"IamInstanceProfile": "existing-profile"}, UNKNOWN),
        ({"IamInstanceProfile": {"Fn::ImportValue": "SharedProfile"}}, UNKNOWN),
    ],
)
def test_every_value_at_a_site_is_classified(properties: dict[str, Any], kind: str) -> None:
    model = analyse(_template(Web=_instance(properties)))
    assert [(found.logical_id, found.kind) for found in model.found] == [("Web", kind)]


def test_a_profile_property_is_judged_leaf_by_leaf_with_exact_paths() -> None:
    value = {
        "Fn::If": ["IsProd", {"Arn": {"Fn::GetAtt": ["AppRole", "Arn"]}}, {"Name": {"Ref": "AppProfile"}}]
    }
    template = _template(
        Lt={
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": {"IamInstanceProfile": value}},
        }
    )
    model = analyse(template)
    base = ("Properties", "LaunchTemplateData", "IamInstanceProfile", "Fn::If")
    assert [(found.path, found.kind, found.role) for found in model.found] == [
        ((*base, 1, "Arn"), ROLE, "AppRole"),
        ((*base, 2, "Name"), PROFILE, None),
    ]
    # Not rewritten by the macro (a role under Fn::If is not certain): the lint rule reports it there.
    assert [(f.code, f.path) for f in model.findings] == [("E9001", (*base, 1, "Arn"))]


def test_findings_name_the_value_the_macro_rewrote_not_a_prefix_of_it() -> None:
    """Issue 9's bug: a warning at the resource itself (a named profile) hid the E9001 beside it."""
    overrides = [
        {"IamRole": {"Role": "ops-role", "Profile": {"InstanceProfileName": "web-profile"}}},
        {"IamInstanceProfile": {"Arn": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/ops-role"}}},
        {"IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["AppRole", "Arn"]}}},
    ]
    fleet = {
        "Type": "AWS::EC2::EC2Fleet",
        "Properties": {"LaunchTemplateConfigs": [{"Overrides": overrides}]},
    }
    model = analyse(_template(Fleet=fleet))
    at = ("Properties", "LaunchTemplateConfigs", 0, "Overrides")
    assert sorted((f.code, f.path) for f in model.findings) == [
        ("E9001", (*at, 1, "IamInstanceProfile", "Arn")),  # a built role ARN: the macro cannot fix it
        ("W9002", ()),  # the named profile
        ("W9002", (*at, 2, "IamInstanceProfile")),  # the template's role: the macro rewrites it
    ]
    assert model.plan is not None
    assert [use.path for use in model.plan.uses] == [(*at, 0, "IamRole"), (*at, 2, "IamInstanceProfile")]


def test_without_the_transform_the_shorthand_is_the_finding() -> None:
    model = analyse(_template(Web=_instance({"IamRole": "AppRole"})), transform_declared=False)
    assert [(f.code, f.severity, f.path) for f in model.findings] == [
        ("W9001", "warning", ("Properties", "IamRole"))
    ]
    assert model.plan is None


@pytest.mark.parametrize(
    ("properties", "transform_declared", "code", "where"),
    [
        ({"IamInstanceProfile": {"Ref": "AppRole"}}, False, "E9001", "Properties.IamInstanceProfile"),
        (
            # A built role ARN: the macro corrects a literal one (issue 23), so only this stays E9001.
            {"IamInstanceProfile": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/app"}},
            True,
            "E9001",
            "Properties.IamInstanceProfile",
        ),
        ({"IamRole": "AppRole"}, False, "W9001", "Properties.IamRole"),
        (
            {"IamInstanceProfile": {"Fn::GetAtt": ["AppProfile", "Arn"]}},
            False,
            "E9003",
            "Properties.IamInstanceProfile",
        ),
    ],
)
def test_every_code_reads_resource_and_property_first(
    properties: dict[str, Any], transform_declared: bool, code: str, where: str
) -> None:
    # Issue 22: E9001 (and W9001) alone began with the value; every other code with where it is.
    model = analyse(_template(Web=_instance(properties)), transform_declared=transform_declared)
    (finding,) = [f for f in model.findings if f.code == code]
    assert finding.lint_text().startswith(f"Resource Web, {where}: ")


def test_errors_leave_no_plan_and_every_role_mistake_reported() -> None:
    template = _template(
        Web=_instance({"IamRole": {"Ref": "NoSuchRole"}}),
        Api=_instance({"IamInstanceProfile": {"Ref": "AppRole"}}),
    )
    model = analyse(template)
    assert model.plan is None
    assert {(f.code, f.logical_id) for f in model.findings} == {("E9002", "Web"), ("E9001", "Api")}
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    assert [e.logical_id for e in raised.value.errors] == ["Web"]


def test_every_exception_is_a_profile_expand_error() -> None:
    exceptions = [
        value
        for value in vars(profile_expand.core.errors).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]
    assert {e.__name__ for e in exceptions} >= {
        "ChainError",
        "CommandExit",
        "InvalidEventError",
        "InvalidTemplateError",
        "OverrideSpecError",
        "TemplateSyntaxError",
    }
    assert all(issubclass(e, ProfileExpandError) for e in exceptions)
