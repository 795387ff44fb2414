"""Roles defined inline in IamRole, and the services' naming rules for the role inside a profile.

An inline role trusts EC2 in every partition (ec2.${AWS::URLSuffix}); ManagedPolicyArns may use AWS
managed policy short names (AmazonSSMManagedInstanceCore, service-role/...), written as partition-aware
ARNs. Full ARNs and intrinsics pass through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from profile_expand.core import cfn
from profile_expand.core.profile_options import stack_unique_name
from profile_expand.core.sites import RoleNameRule
from profile_expand.core.text import quote

MANAGED_POLICY_ARNS: Final = "ManagedPolicyArns"
ROLE_PATH: Final = "Path"

EC2_TRUST_POLICY: Final[Mapping[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": {cfn.FN_SUB: "ec2.${AWS::URLSuffix}"}},
            "Action": "sts:AssumeRole",
        }
    ],
}


def managed_policy_arn(entry: object) -> object:
    """AmazonSSMManagedInstanceCore -> !Sub arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore."""
    if isinstance(entry, str) and not entry.startswith("arn:"):
        return {cfn.FN_SUB: "arn:${AWS::Partition}:iam::aws:policy/" + entry.lstrip("/")}
    return entry


def inline_role_properties(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The AWS::IAM::Role properties for an inline definition, in the author's key order."""
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": _copy(EC2_TRUST_POLICY)}
    for key, value in definition.items():
        if key == MANAGED_POLICY_ARNS and isinstance(value, list):
            properties[key] = [managed_policy_arn(entry) for entry in value]
        else:
            properties[key] = value
    return properties


# An inline role's properties after the services' naming rules; the rules its own RoleName breaks;
# notes on the names given to meet a rule.
NamedRole = tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]


def apply_name_rules(properties: Mapping[str, Any], rules: Iterable[RoleNameRule], digest: str) -> NamedRole:
    """A copy of an inline role's properties made to meet each rule, with the problems and notes."""
    named = dict(properties)
    problems: list[str] = []
    notes: list[str] = []
    for rule in rules:
        verdict = satisfies(named, rule)
        if verdict is True:
            continue
        if verdict is False:
            problems.append(
                f"the role needs {rule.describe()}, but its RoleName is {quote(named[cfn.ROLE_NAME])}."
            )
            continue
        name, path = named.get(cfn.ROLE_NAME), named.get(ROLE_PATH)
        if path is None and rule.paths:
            named[ROLE_PATH] = rule.paths[0]  # a path needs no CAPABILITY_NAMED_IAM; a name would
        elif name is None:
            named[cfn.ROLE_NAME] = stack_unique_name(rule.name_prefixes[0], digest)
            notes.append(
                f"the generated role is named {rule.name_prefixes[0]}-<stack UUID>-{digest} as the service "
                "requires; deploy with CAPABILITY_NAMED_IAM."
            )
    return named, tuple(problems), tuple(notes)


def satisfies(properties: Mapping[str, Any], rule: RoleNameRule) -> bool | None:
    """True / False when the role's literal RoleName or Path decide the rule; None when they cannot
    (no RoleName: CloudFormation generates one from the stack name; or an intrinsic)."""
    name, path = properties.get(cfn.ROLE_NAME), properties.get(ROLE_PATH)
    if isinstance(name, str) and name.startswith(rule.name_prefixes):
        return True
    if isinstance(path, str) and path in rule.paths:
        return True
    if isinstance(name, str) and (not rule.paths or path is None or isinstance(path, str)):
        return False
    return None


def carries_policy(properties: Mapping[str, Any], policy_name: str) -> bool:
    """Whether a role's ManagedPolicyArns (in its Properties) names the AWS managed policy (any spelling)."""
    arns = properties.get(MANAGED_POLICY_ARNS)
    return isinstance(arns, list) and any(policy_name in quote(entry) for entry in arns)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
