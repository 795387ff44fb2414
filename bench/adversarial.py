"""Adversarial templates at CloudFormation's limits (issue 17): each shape that once made a pass quadratic.

Every shape has at most 500 resources once expanded and is padded to about 1 MB of compact JSON, as a
template CloudFormation accepts may be. Deterministic: the same arguments give the same template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.generators import MAX_RESOURCES, MAX_TEMPLATE_BYTES
from profile_expand import InvalidTemplateError, expand
from profile_expand.core.sites import EACH, SITES, Site, SiteKind

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
_CONDITIONS = {f"C{n}": {"Fn::Equals": [{"Ref": "AWS::Region"}, f"region-{n}"]} for n in range(4)}
LONG_ID = 120  # characters of each logical ID in the "did you mean" shape


def _role() -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}}


def _instance(iam_role: Any, padding: str) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::Instance",
        "Properties": {
            "ImageId": "ami-0123456789abcdef0",
            "IamRole": iam_role,
            "UserData": {"Fn::Base64": padding},
        },
    }


def _template(resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "ProfileExpand",
        **sections,
        "Resources": resources,
    }


def _long_id(number: int) -> str:
    # A long shared stem: difflib's quick filters let every candidate through to the full comparison.
    return f"ApplicationTierComputeRole{number:04d}".rjust(LONG_ID, "X")


def long_ids_with_typos(padding: str) -> dict[str, Any]:
    """250 roles with 120-character logical IDs and 249 instances each naming one with a typo: every
    site is an error with a "did you mean"."""
    roles = MAX_RESOURCES // 2
    resources: dict[str, Any] = {_long_id(n): _role() for n in range(roles)}
    for n in range(MAX_RESOURCES - roles - 1):
        typo = _long_id(n)[:-6] + "rloe" + _long_id(n)[-2:]
        resources[f"Web{n}"] = _instance(typo, padding)
    return _template(resources)


def policy_chains(padding: str) -> dict[str, Any]:
    """One role, one instance, and 497 policies on the role, each depending on the one before: the
    permission readiness of the instance asks, for each policy, whether it depends on the instance."""
    resources: dict[str, Any] = {"AppRole": _role(), "Web": _instance({"Ref": "AppRole"}, padding)}
    for n in range(MAX_RESOURCES - 3):
        policy: dict[str, Any] = {"Type": "AWS::IAM::Policy"}
        if n:
            policy["DependsOn"] = f"Policy{n - 1}"
        policy["Properties"] = {
            "PolicyName": f"p{n}",
            "Roles": [{"Ref": "AppRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": {"Fn::Sub": f"${{Policy{n - 1}}}" if n else "*"},
                    }
                ],
            },
        }
        resources[f"Policy{n}"] = policy
    return _template(resources)


def _deep_if(depth: int, leaf: Any) -> Any:
    node = leaf
    for level in range(depth):
        node = {"Fn::If": [f"C{level % 4}", node, {"Ref": "AWS::NoValue"}]}
    return node


def deep_fn_if(padding: str) -> dict[str, Any]:
    """Fn::If nested 31 deep (the deepest allowed is 32) around each instance's IamRole and around each
    launch template's data: 124 roles, 124 instances, 124 launch templates."""
    groups = (MAX_RESOURCES - 4) // 4
    resources: dict[str, Any] = {}
    for n in range(groups):
        resources[f"Role{n}"] = _role()
        resources[f"Web{n}"] = _instance(_deep_if(31, {"Ref": f"Role{n}"}), padding)
        data = {"ImageId": "ami-0123456789abcdef0", "IamRole": {"Ref": f"Role{n}"}, "UserData": padding}
        resources[f"Nodes{n}"] = {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": _deep_if(31, data)},
        }
    return _template(resources, Conditions=_CONDITIONS)


def many_sites(padding: str) -> dict[str, Any]:
    """One role and 498 resources of every site of the table (but RDS Custom's, whose profile needs a
    name prefix of its own), each with IamRole: 500 resources once the role's one profile is added."""
    resources: dict[str, Any] = {"AppRole": _role()}
    sites = [site for site in SITES if site.profile_name_prefix is None]
    for n in range(MAX_RESOURCES - 2):
        site = sites[n % len(sites)]
        resources[f"Site{n}"] = _site_resource(site, padding)
    return _template(resources)


def _site_resource(site: Site, padding: str) -> dict[str, Any]:
    """A resource of the site's type holding `IamRole: !Ref AppRole` where the site's table row says."""
    node: Any
    if site.kind is SiteKind.OPTION_SETTING:
        node = [{"Namespace": site.option_namespace, "OptionName": "IamRole", "Value": {"Ref": "AppRole"}}]
    else:
        node = {"IamRole": {"Ref": "AppRole"}}
    for step in reversed(site.container[1:]):
        node = [node] if step == EACH else {step: node}
    return {"Type": site.resource_type, "Metadata": {"Padding": padding}, "Properties": node}


SHAPES: dict[str, Callable[[str], dict[str, Any]]] = {
    "long IDs with typos": long_ids_with_typos,
    "policy chains": policy_chains,
    "deep Fn::If": deep_fn_if,
    "500 sites": many_sites,
}


def answer(template: dict[str, Any]) -> str:
    """How the macro answers the shape, for the benchmark's label: "" when it expands."""
    try:
        expand(template)
    except InvalidTemplateError as error:
        return f" (answered with {len(error.errors)} errors)"
    return ""


def _size(template: Any) -> int:
    return len(json.dumps(template, separators=(",", ":")).encode())


def at_limit(
    shape: Callable[[str], dict[str, Any]], target_bytes: int = MAX_TEMPLATE_BYTES
) -> dict[str, Any]:
    """The shape with its padding grown until the template is just under `target_bytes`."""
    low, high = 0, 1
    while _size(shape("x" * high)) <= target_bytes:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if _size(shape("x" * middle)) <= target_bytes:
            low = middle
        else:
            high = middle
    return shape("x" * low)
