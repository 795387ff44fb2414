"""Permission readiness: a resource using a role waits for the policies attached to that role.

Without this, CloudFormation may start an instance as soon as its profile exists, before an
AWS::IAM::Policy (or ManagedPolicy, or RolePolicy) on the same role is attached: the first boot then
runs without its permissions. Dependencies that would close a cycle, or that point at a resource under
another Condition, are not added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from profile_expand import cfn

_POLICY_TYPES: Final = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_ROLE_POLICY_TYPE: Final = "AWS::IAM::RolePolicy"
_SUB_NAME: Final = r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[^}]*)?\}"


def policies_by_role(resources: Mapping[str, Any]) -> dict[str, list[str]]:
    """Role logical ID -> logical IDs of the template's policies that attach to it (template order)."""
    attached: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        properties = resource.get(cfn.PROPERTIES)
        if not isinstance(properties, Mapping):
            continue
        kind = resource.get(cfn.TYPE)
        if kind in _POLICY_TYPES and isinstance(properties.get(cfn.ROLES), list):
            targets = properties[cfn.ROLES]
        elif kind == _ROLE_POLICY_TYPE:
            targets = [properties.get(cfn.ROLE_NAME)]
        else:
            continue
        for target in targets:
            if isinstance(target, Mapping) and isinstance(target.get(cfn.REF), str) and len(target) == 1:
                attached.setdefault(target[cfn.REF], []).append(logical_id)
    return attached


def depends_on_list(resource: Mapping[str, Any]) -> list[str] | None:
    """The resource's DependsOn as a list, or None when it is in a shape we must not touch."""
    value = resource.get(cfn.DEPENDS_ON)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def references(resource: object) -> Iterator[str]:
    """Logical IDs a resource names: DependsOn, Ref, Fn::GetAtt and ${...} in Fn::Sub (no recursion)."""
    pending: list[object] = [resource]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in (cfn.REF, cfn.DEPENDS_ON) and isinstance(value, str):
                    yield value
                elif key == cfn.DEPENDS_ON and isinstance(value, list):
                    yield from (item for item in value if isinstance(item, str))
                elif key == cfn.GET_ATT and isinstance(value, list) and value and isinstance(value[0], str):
                    yield value[0]
                elif key == cfn.GET_ATT and isinstance(value, str):
                    yield value.split(".", 1)[0]
                elif key == cfn.FN_SUB:
                    text = value[0] if isinstance(value, list) and value else value
                    if isinstance(text, str):
                        yield from sub_names(text)
                    pending.append(value)
                else:
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(node)


def sub_names(text: str) -> list[str]:
    """The logical IDs an Fn::Sub string names: X of ${X} and ${X.Attribute} (not ${!X}, ${AWS::...})."""
    return re.findall(_SUB_NAME, text)


def dependency_closure(resources: Mapping[str, Any], start: str) -> set[str]:
    """Every resource `start` depends on, directly or through other resources."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        for name in references(resources.get(pending.pop())):
            if name in resources and name not in seen:
                seen.add(name)
                pending.append(name)
    return seen
