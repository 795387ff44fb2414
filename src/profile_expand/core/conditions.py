"""When a shared generated profile must exist: SAM's implicit-API rule for conditions.

Each use of a profile needs a set of condition terms to hold together (its resource's Condition, the
Fn::If branches it sits in, the role's own Condition). The profile is unconditional if any use is; it
reuses a single named condition when that is all every use needs; otherwise it gets a new condition,
the Fn::Or of each use's Fn::And, nested so that no Fn::Or or Fn::And has more than 10 terms.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from profile_expand.core import cfn

# A term is a condition function as canonical JSON text: {"Condition": "C"} or {"Fn::Not": [...]}.
Requirement = frozenset[str]
# The terms of something unconditional: no condition term at all.
UNCONDITIONAL: Requirement = frozenset()


def named(condition: str) -> str:
    # The text json.dumps({"Condition": condition}) gives, without its cost: asked for at every Fn::If.
    return f'{{"{cfn.CONDITION}": {encode_basestring_ascii(condition)}}}'


def negated(condition: str) -> str:
    return f'{{"{cfn.FN_NOT}": [{named(condition)}]}}'


class ConditionPlan(NamedTuple):
    """Either no condition, an existing condition's name, or a new expression to be named."""

    existing: str | None = None
    expression: dict[str, Any] | None = None


def excludes(need: Requirement, other: Requirement) -> bool:
    """Whether two sets of terms can never hold together: a condition in one, its Fn::Not in the other."""
    return any(negated(name) in other for name in _names(need)) or any(
        negated(name) in need for name in _names(other)
    )


def _names(need: Requirement) -> Iterator[str]:
    for term in need:
        parsed = json.loads(term)
        if set(parsed) == {cfn.CONDITION}:
            yield parsed[cfn.CONDITION]


def plan_condition(requirements: Iterable[Requirement]) -> ConditionPlan:
    needs = set(requirements)
    if not needs or frozenset() in needs:
        return ConditionPlan()
    # Absorption: a use needing A and B adds nothing when another use needs only A.
    minimal = sorted(
        (need for need in needs if not any(other < need for other in needs)),
        key=lambda need: sorted(need),
    )
    if len(minimal) == 1 and len(minimal[0]) == 1:
        (term,) = minimal[0]
        parsed = json.loads(term)
        if set(parsed) == {cfn.CONDITION}:
            return ConditionPlan(existing=parsed[cfn.CONDITION])
    disjuncts = [_combine(cfn.FN_AND, [json.loads(term) for term in sorted(need)]) for need in minimal]
    return ConditionPlan(expression=_combine(cfn.FN_OR, disjuncts))


def _combine(function: str, terms: list[dict[str, Any]]) -> dict[str, Any]:
    """Fn::Or / Fn::And of the terms, nested in groups of at most 10 (a lone term stands alone)."""
    if len(terms) == 1:
        return terms[0]
    while len(terms) > cfn.MAX_CONDITION_TERMS:
        size = cfn.MAX_CONDITION_TERMS
        terms = [
            group[0] if len(group) == 1 else {function: group}
            for group in (terms[start : start + size] for start in range(0, len(terms), size))
        ]
        if len(terms) == 1:
            return terms[0]
    return {function: terms}
