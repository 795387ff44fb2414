"""Permission readiness: a resource using a role waits for the policies attached to that role.

Without this, CloudFormation may start an instance as soon as its profile exists, before an
AWS::IAM::Policy (or ManagedPolicy, or RolePolicy) on the same role is attached: the first boot then
runs without its permissions. Dependencies that would close a cycle, or that point at a resource under
another Condition, are not added. Which policies attach to which role is read once, by index.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from profile_expand.core import cfn

_SUB_NAME: Final = r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[^}]*)?\}"


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


def dependents(resources: Mapping[str, Any]) -> Callable[[str], frozenset[str]]:
    """dependents(resources)(target): every resource that depends on `target`, directly or through
    others. Each resource is read once, on the first question, however many targets are asked about
    (a closure per policy re-read the template for each: quadratic in chained policies)."""
    reverse: dict[str, set[str]] = {}
    answers: dict[str, frozenset[str]] = {}
    read: list[bool] = []

    def read_once() -> None:
        read.append(True)
        for name, resource in resources.items():
            for target in references(resource):
                if target in resources and target != name:
                    reverse.setdefault(target, set()).add(name)

    def of(target: str) -> frozenset[str]:
        if not read:
            read_once()
        if target not in answers:
            seen: set[str] = set()
            pending = [target]
            while pending:
                for name in reverse.get(pending.pop(), ()):
                    if name not in seen:
                        seen.add(name)
                        pending.append(name)
            answers[target] = frozenset(seen)
        return answers[target]

    return of
