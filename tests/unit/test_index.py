"""The index: the template read once, and every later step reading the index instead of Resources."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from profile_expand.core.model import ROLE, site_values
from profile_expand.core.pipeline import analyse
from profile_expand.core.sites import EACH, SITES, Site, SiteKind

ROLE_ARN = "arn:aws:iam::123456789012:role/app"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class CountingResources(Mapping[str, Any]):
    """A Resources section that counts how often it is walked (iterated); lookups are free."""

    def __init__(self, resources: dict[str, Any]) -> None:
        self._resources = resources
        self.walks = 0

    def __getitem__(self, key: str) -> Any:
        return self._resources[key]

    def __iter__(self) -> Iterator[str]:
        self.walks += 1
        return iter(self._resources)

    def __len__(self) -> int:
        return len(self._resources)


def _resources() -> dict[str, Any]:
    return {
        "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "OtherRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "AppProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "OtherRole"}]}},
        "Web": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": {"Ref": "AppRole"}}},
        "Db": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {"CustomIAMInstanceProfile": {"Ref": "AppProfile"}},
        },
        "Fleet": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["AppProfile", "Arn"]}}}
            },
        },
        "Wrong": {
            "Type": "AWS::EC2::Instance",
            "Properties": {"IamInstanceProfile": {"Fn::GetAtt": ["AppProfile", "Arn"]}},
        },
    }


@pytest.mark.parametrize("lint", [True, False])
def test_the_resources_are_walked_once(lint: bool) -> None:
    """collect, the mistake catalogue, the naming rules, the trust checks and the plan read the index:
    only index_template walks Resources (before the index, analyse walked it again for each step)."""
    resources = CountingResources(_resources())
    model = analyse({"Resources": resources}, lint=lint)
    assert model.plan is not None  # the template was analysed all the way, its plan made
    assert resources.walks == 1


def test_readiness_reads_the_references_once_more_only_when_a_used_role_has_policies() -> None:
    plain = _resources()
    with_policy = {
        **plain,
        "AppPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "p", "Roles": [{"Ref": "AppRole"}]},
        },
    }
    for resources, walks in ((plain, 1), (with_policy, 2)):
        counting = CountingResources(resources)
        analyse({"Resources": counting})
        assert counting.walks == walks


def _properties_at(site: Site, leaf: dict[str, Any]) -> dict[str, Any]:
    """Properties holding `leaf` (a mapping with the profile property) at the site's container."""
    node: Any = leaf
    if site.kind is SiteKind.OPTION_SETTING:
        node = [{"Namespace": site.option_namespace, "OptionName": site.profile_property, "Value": ROLE_ARN}]
    for step in reversed(site.container[1:]):
        node = [node] if step == EACH else {step: node}
    assert isinstance(node, dict)
    return node


@pytest.mark.parametrize("site", SITES, ids=lambda site: site.slug)
def test_site_values_judges_one_resource_alone(site: Site) -> None:
    """What the guard asks of one resource's resolved properties: the same sites table, the same judgement."""
    value: Any = {"Arn": ROLE_ARN} if site.takes_object else ROLE_ARN
    properties = _properties_at(site, {site.profile_property: value})
    found = [leaf for leaf in site_values(site.resource_type, properties, "Res") if leaf.site == site]
    assert [(leaf.kind, leaf.value, leaf.logical_id) for leaf in found] == [(ROLE, ROLE_ARN, "Res")]
