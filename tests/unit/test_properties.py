"""Properties of the core's expansion over generated templates (tests/strategies.py).

Select the example budget with HYPOTHESIS_PROFILE: dev (default, random), ci (same budget,
derandomized), thorough (10x). The expected outcome of every template is derived from the sites table
and the generator's own bookkeeping, never from the core.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from profile_expand import InvalidTemplateError, expand, expand_with_report
from tests.oracle import PROFILE_TYPE, ROLE_TYPE, at, check_expansion, locations
from tests.strategies import NO_VALUE, PROPERTY_SETTINGS, ROLE_IDS, GeneratedTemplate, templates

# -- the properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(templates())
def test_every_valid_template_expands_as_promised(generated: GeneratedTemplate) -> None:
    template = generated.template
    before = copy.deepcopy(template)
    report = expand_with_report(template)
    output = report.template
    assert json.dumps(template) == json.dumps(before), "the input was modified"

    for feature in check_expansion(template, output):
        event(feature)
    found = locations(template)
    for slug in sorted({location.site.slug for location in found}):
        event(f"site {slug}")
    event(f"profiles created: {min(len(report.profiles_created), 5)}")
    assert report.sites_rewritten == len(found)
    added = [lid for lid in output["Resources"] if lid not in template["Resources"]]
    assert list(report.profiles_created) == [
        lid for lid in added if output["Resources"][lid]["Type"] == PROFILE_TYPE
    ]
    assert list(report.roles_created) == [
        lid for lid in added if output["Resources"][lid]["Type"] == ROLE_TYPE
    ]
    assert expand(output) == output, "expanding the output again changed it"
    assert json.dumps(expand(output)) == json.dumps(output)
    assert json.dumps(expand(template)) == json.dumps(output), "two runs differ"

    # Generated logical IDs are a contract: an unrelated edit of the template does not move them.
    edited = dict(template)
    edited["Resources"] = {"UnrelatedQueue": {"Type": "AWS::SQS::Queue"}, **template["Resources"]}
    again = expand(edited)["Resources"]
    assert [lid for lid in again if lid not in edited["Resources"]] == added
    for location in found:
        assert at(again[location.logical_id], location.path) == at(
            output["Resources"][location.logical_id], location.path
        )


def _instance(iam_role: Any, condition: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"Type": "AWS::EC2::Instance"}
    if condition:
        resource["Condition"] = condition
    resource["Properties"] = {"ImageId": "ami-0123456789abcdef0", "IamRole": iam_role}
    return resource


_ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}


@pytest.mark.parametrize(
    "iam_role",
    [
        NO_VALUE,
        {"Fn::If": ["IsProd", NO_VALUE, NO_VALUE]},
        {"Role": NO_VALUE, "Profile": {"Path": "/web/"}},
    ],
    ids=["novalue", "if-of-novalues", "wrapped-novalue"],
)
def test_a_site_that_chooses_no_role_expands(iam_role: Any) -> None:
    template = {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
        "Resources": {"WebRole": _ROLE, "Spare": _instance(iam_role)},
    }
    output = expand(template)
    check_expansion(template, output)
    assert "IamInstanceProfile" in output["Resources"]["Spare"]["Properties"]


@PROPERTY_SETTINGS
@given(
    roles=st.lists(st.sampled_from(ROLE_IDS), min_size=2, max_size=3, unique=True),
    name=st.sampled_from(["web-profile", "AppProfile"]),
)
def test_profiles_that_exist_together_never_share_a_name(roles: list[str], name: str) -> None:
    template = {
        "Resources": {
            **{role: _ROLE for role in roles},
            **{
                f"Site{n}": _instance({"Role": role, "Profile": {"InstanceProfileName": name}})
                for n, role in enumerate(roles)
            },
        }
    }
    try:
        resources = expand(template)["Resources"]
    except InvalidTemplateError as error:
        assert re.search(r"Resource Site\d", error.summary), error.summary
    else:
        names = [
            r["Properties"].get("InstanceProfileName")
            for r in resources.values()
            if r["Type"] == PROFILE_TYPE
        ]
        assert len(names) == len(roles), names
        assert len(set(names)) == len(names), f"profiles for {roles} all named {name}"
