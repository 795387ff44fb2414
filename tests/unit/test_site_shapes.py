"""Every container shape the sites table allows is found (issue 17 item 2).

A property test builds, from each row of the table, the path down to the site's container with lists
at EACH steps and Fn::If at any level: around a mapping on the way, a list, a list item, the
container itself and, for Elastic Beanstalk, an OptionSettings entry. Every IamRole placed so must be
rewritten by expand and seen (W9001) by the lint rules' analysis.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profile_expand import InvalidTemplateError, expand
from profile_expand.core.errors import SHORTHAND_WITHOUT_TRANSFORM
from profile_expand.core.pipeline import analyse
from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, SiteKind
from tests.strategies import PROPERTY_SETTINGS

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
SHORTHAND = {"Ref": "AppRole"}
NO_VALUE = {"Ref": "AWS::NoValue"}
Path = tuple[str | int, ...]


def _if(true: Any, false: Any) -> dict[str, Any]:
    return {"Fn::If": ["IsProd", true, false]}


@st.composite
def _shape(draw: st.DrawFn, site: Site, steps: tuple[str, ...], path: Path) -> tuple[Any, list[Path]]:
    """A value reached by `steps` holding the shorthand, and the path of each place it holds it (the
    container; for option settings, the entry)."""
    if draw(st.integers(0, 3)) == 0:
        true, true_places = draw(_shape(site, steps, (*path, "Fn::If", 1)))
        if draw(st.booleans()):
            false, false_places = draw(_shape(site, steps, (*path, "Fn::If", 2)))
        else:
            false, false_places = NO_VALUE, []
        return _if(true, false), true_places + false_places
    if not steps:
        if site.kind is SiteKind.OPTION_SETTING:
            return draw(_option_settings(site, path))
        return {"Description": "sibling", "IamRole": SHORTHAND}, [path]
    step, rest = steps[0], steps[1:]
    if step == EACH:
        items, places = [], []
        for position in range(draw(st.integers(1, 2))):
            item, item_places = draw(_shape(site, rest, (*path, position)))
            items.append(item)
            places += item_places
        return items, places
    value, places = draw(_shape(site, rest, (*path, step)))
    return {step: value}, places


@st.composite
def _option_settings(draw: st.DrawFn, site: Site, path: Path) -> tuple[list[Any], list[Path]]:
    other = {"Namespace": "aws:elasticbeanstalk:environment", "OptionName": "EnvironmentType", "Value": "x"}
    entry = {"Namespace": site.option_namespace, "OptionName": "IamRole", "Value": SHORTHAND}
    settings: list[Any] = [other]
    if draw(st.booleans()):
        settings.append(_if(entry, NO_VALUE) if draw(st.booleans()) else _if(other, entry))
        branch = 1 if settings[-1]["Fn::If"][1] is entry else 2
        return settings, [(*path, 1, "Fn::If", branch)]
    settings.append(entry)
    return settings, [(*path, 1)]


@st.composite
def _templates(draw: st.DrawFn) -> tuple[Site, dict[str, Any], list[Path]]:
    site = draw(st.sampled_from(SITES))
    properties, places = draw(_shape(site, site.container[1:], (site.container[0],)))
    template = {
        "Transform": "ProfileExpand",
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}},
        "Resources": {
            "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
            "Site": {"Type": site.resource_type, "Properties": properties},
        },
    }
    return site, template, places


def _at(node: Any, path: Path) -> Any:
    for step in path:
        node = node[step]
    return node


def _profile_of(output: dict[str, Any], site: Site, value: Any) -> str:
    """The generated profile a rewritten value names, in the form the site writes."""
    inner = value
    if site.writes in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT):
        ((key, inner),) = value.items()
        assert key == ("Arn" if site.writes is ProfileForm.ARN_OBJECT else "Name")
    if site.writes in (ProfileForm.ARN, ProfileForm.ARN_OBJECT):
        (target, attribute) = inner["Fn::GetAtt"]
        assert attribute == "Arn"
    else:
        target = inner["Ref"]
    assert output["Resources"][target]["Type"] == "AWS::IAM::InstanceProfile"
    assert output["Resources"][target]["Properties"]["Roles"] == [SHORTHAND]
    return str(target)


@PROPERTY_SETTINGS
@given(_templates())
def test_every_container_shape_of_the_table_is_found(drawn: tuple[Site, dict[str, Any], list[Path]]) -> None:
    site, template, places = drawn
    output = expand(template)
    resource = output["Resources"]["Site"]
    for place in places:
        container = _at(resource, place)
        if site.kind is SiteKind.OPTION_SETTING:
            assert container["OptionName"] == site.profile_property, place
            _profile_of(output, site, container["Value"])
        else:
            assert "IamRole" not in container, place
            _profile_of(output, site, container[site.profile_property])
    assert expand(output) == output
    # The lint rules' analysis sees the same places (W9001 without the transform).
    bare = {key: value for key, value in template.items() if key != "Transform"}
    warned = {
        f.path
        for f in analyse(bare, transform_declared=False).findings
        if f.code == SHORTHAND_WITHOUT_TRANSFORM
    }
    key = ("OptionName",) if site.kind is SiteKind.OPTION_SETTING else ("IamRole",)
    assert warned == {(*place, *key) for place in places}


def _environment(*settings: Any) -> dict[str, Any]:
    return {
        "Transform": "ProfileExpand",
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}},
        "Resources": {
            "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
            "Env": {
                "Type": "AWS::ElasticBeanstalk::Environment",
                "Properties": {"OptionSettings": list(settings)},
            },
        },
    }


LAUNCH = "aws:autoscaling:launchconfiguration"


def test_an_option_entry_in_an_fn_if_branch_gets_a_profile_under_that_condition() -> None:
    entry = {"Namespace": LAUNCH, "OptionName": "IamRole", "Value": "AppRole"}
    output = expand(_environment(_if(entry, NO_VALUE)))
    rewritten = output["Resources"]["Env"]["Properties"]["OptionSettings"][0]["Fn::If"][1]
    assert rewritten == {
        "Namespace": LAUNCH,
        "OptionName": "IamInstanceProfile",
        "Value": {"Ref": "AppRoleInstanceProfile"},
    }
    assert output["Resources"]["AppRoleInstanceProfile"]["Condition"] == "IsProd"


def test_iam_role_and_the_profile_option_in_two_branches_of_one_fn_if_do_not_conflict() -> None:
    shorthand = {"Namespace": LAUNCH, "OptionName": "IamRole", "Value": "AppRole"}
    written = {"Namespace": LAUNCH, "OptionName": "IamInstanceProfile", "Value": "hand-made"}
    output = expand(_environment(_if(shorthand, written)))
    branches = output["Resources"]["Env"]["Properties"]["OptionSettings"][0]["Fn::If"]
    assert branches[1]["Value"] == {"Ref": "AppRoleInstanceProfile"}
    assert branches[2] == written
    with pytest.raises(InvalidTemplateError, match="both IamRole and IamInstanceProfile options are set"):
        expand(_environment(_if(shorthand, NO_VALUE), written))
