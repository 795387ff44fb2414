"""Sites that name what the macro generates: judged against the template as it will be (issue 17 item 1).

The first expansion must do what a second one would: the same correction (or error), so that
expand(expand(t)) == expand(t).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profile_expand import InvalidTemplateError, expand, expand_with_report
from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, SiteKind
from tests.strategies import PROPERTY_SETTINGS

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}}
GENERATED = "AppRoleInstanceProfile"  # what `IamRole: !Ref AppRole` generates


def _template(**resources: Any) -> dict[str, Any]:
    return {
        "Transform": "ProfileExpand",
        "Resources": {
            "AppRole": ROLE,
            "Web": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": {"Ref": "AppRole"}}},
            **resources,
        },
    }


def test_the_arn_of_a_generated_profile_where_its_name_belongs_is_corrected_on_the_first_pass() -> None:
    worker = {
        "Type": "AWS::EC2::Instance",
        "Properties": {"IamInstanceProfile": {"Fn::GetAtt": [GENERATED, "Arn"]}},
    }
    report = expand_with_report(_template(Worker=worker))
    output = report.template
    assert output["Resources"]["Worker"]["Properties"] == {"IamInstanceProfile": {"Ref": GENERATED}}
    assert output["Resources"][GENERATED]["Type"] == "AWS::IAM::InstanceProfile"
    assert [w.logical_id for w in report.warnings] == ["Worker"]
    assert "ProfileExpand wrote `!Ref AppRoleInstanceProfile`" in str(report.warnings[0])
    assert expand(output) == output


def test_a_generated_profile_in_the_form_the_site_takes_is_left_as_written() -> None:
    template = _template(
        Worker={"Type": "AWS::EC2::Instance", "Properties": {"IamInstanceProfile": {"Ref": GENERATED}}}
    )
    report = expand_with_report(template)
    assert report.template["Resources"]["Worker"] == template["Resources"]["Worker"]
    assert report.warnings == ()
    assert expand(report.template) == report.template


def test_a_role_the_macro_generates_named_where_a_profile_belongs_is_an_error() -> None:
    """WebRole is generated for Web's inline role; a profile property naming it would deploy a role name
    where a profile's belongs (and a second pass could not expand: its profile's ID is taken)."""
    template = {
        "Transform": "ProfileExpand",
        "Resources": {
            "Web": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": {"ManagedPolicyArns": []}}},
            "Worker": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"IamInstanceProfile": {"Ref": "WebRole"}},
            },
        },
    }
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    message = str(raised.value)
    assert "Worker" in message and "Properties.IamInstanceProfile" in message
    assert "WebRole" in message and "WebRoleInstanceProfile" in message


def _nest(site: Site, container: dict[str, Any]) -> dict[str, Any]:
    node: Any = container
    for step in reversed(site.container[1:]):
        node = [node] if step == EACH else {step: node}
    return {"Type": site.resource_type, "Properties": node}


def _reference(form: ProfileForm, logical_id: str) -> Any:
    plain = {ProfileForm.NAME: {"Ref": logical_id}, ProfileForm.ARN: {"Fn::GetAtt": [logical_id, "Arn"]}}
    if form in plain:
        return plain[form]
    inner = ProfileForm.ARN if form is ProfileForm.ARN_OBJECT else ProfileForm.NAME
    return {("Arn" if inner is ProfileForm.ARN else "Name"): plain[inner]}


_PROPERTY_SITES = [
    site for site in SITES if site.kind is SiteKind.PROPERTY and site.profile_name_prefix is None
]


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(_PROPERTY_SITES), st.sampled_from(list(ProfileForm))),
        min_size=1,
        max_size=4,
    )
)
def test_templates_naming_generated_profiles_expand_once_for_all(
    picks: list[tuple[Site, ProfileForm]],
) -> None:
    """Sites naming the generated profile in any form: the first expansion is the last."""
    users = {
        f"User{position}": _nest(site, {site.profile_property: _reference(form, GENERATED)})
        for position, (site, form) in enumerate(picks)
    }
    template = _template(**users)
    try:
        output = expand(template)
    except InvalidTemplateError:
        return  # a shape no pass can expand (e.g. a plain ARN where only {Arn} goes) fails every time
    assert expand(output) == output


def test_a_site_naming_a_generated_profile_is_one_of_its_users() -> None:
    """The profile is generated for a conditional use, and named by an unconditional site: it must exist
    whenever that site does (SAM's rule: a condition only if every user is conditional)."""
    template = {
        "Transform": "ProfileExpand",
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}},
        "Resources": {
            "AppRole": ROLE,
            "Web": {
                "Type": "AWS::EC2::Instance",
                "Condition": "IsProd",
                "Properties": {"IamRole": {"Ref": "AppRole"}},
            },
            "Worker": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"IamInstanceProfile": {"Ref": GENERATED}},
            },
        },
    }
    output = expand(template)
    profile = output["Resources"][GENERATED]
    assert "Condition" not in profile
    assert profile["Metadata"]["ProfileExpand"]["GeneratedFor"] == ["Web"]  # the IamRole it is made for
    assert expand(output) == output
    # Both users under the one condition: the profile keeps it.
    template["Resources"]["Worker"]["Condition"] = "IsProd"
    assert expand(template)["Resources"][GENERATED]["Condition"] == "IsProd"
