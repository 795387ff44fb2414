"""Reading an IamRole value: the choice it makes and, from the same walk, each role it may use and under
which Fn::If branches."""

from __future__ import annotations

from typing import Any

from profile_expand.core import cfn
from profile_expand.core.conditions import named, negated
from profile_expand.core.index import index_template
from profile_expand.core.roles import IfChoice, NoValue, Rejected, TemplateRoles, UseRole, parse_role

TEMPLATE: dict[str, Any] = {
    "Conditions": {"A": {"Fn::Equals": ["a", "a"]}, "B": {"Fn::Equals": ["b", "b"]}},
    "Resources": {
        "First": {"Type": cfn.IAM_ROLE_TYPE, "Properties": {}},
        "Second": {"Type": cfn.IAM_ROLE_TYPE, "Condition": "B", "Properties": {}},
    },
}
INDEX = index_template(TEMPLATE, TEMPLATE["Resources"])
NO_VALUE = {"Ref": "AWS::NoValue"}


def _if(condition: str, when_true: Any, when_false: Any) -> dict[str, Any]:
    return {"Fn::If": [condition, when_true, when_false]}


def _uses(value: Any) -> list[tuple[str, tuple[str, ...]]]:
    parsed = parse_role(value, INDEX, owner="Web")
    assert not isinstance(parsed, Rejected), parsed
    return [(role.key, terms) for role, terms in parsed[1]]


def test_each_role_comes_with_the_branches_leading_to_it_outermost_first_in_branch_order() -> None:
    value = _if("A", {"Ref": "First"}, _if("B", NO_VALUE, {"Ref": "Second"}))

    assert _uses(value) == [
        ("role:First", (named("A"),)),
        ("role:Second", (negated("A"), negated("B"))),
    ]


def test_a_no_value_branch_uses_no_role_on_either_side() -> None:
    parsed = parse_role(_if("A", NO_VALUE, {"Ref": "First"}), INDEX, owner="Web")

    assert not isinstance(parsed, Rejected)
    choice, uses = parsed
    assert isinstance(choice, IfChoice)
    assert isinstance(choice.when_true, NoValue)
    assert [(role.key, terms) for role, terms in uses] == [("role:First", (negated("A"),))]


def test_a_value_without_fn_if_uses_its_role_under_no_branch() -> None:
    assert _uses({"Fn::GetAtt": ["First", "Arn"]}) == [("role:First", ())]
    assert _uses("First") == [("role:First", ())]
    assert _uses(NO_VALUE) == []


def test_the_role_keeps_its_own_condition() -> None:
    parsed = parse_role({"Ref": "Second"}, INDEX, owner="Web")

    assert not isinstance(parsed, Rejected)
    assert isinstance(parsed[0], UseRole)
    assert parsed[0].role.condition == "B"


def test_every_problem_of_both_branches_is_reported_at_its_path() -> None:
    value = _if("A", {"Ref": "Missing"}, _if("Nowhere", {"Ref": "First"}, NO_VALUE))

    parsed = parse_role(value, INDEX, owner="Web")

    assert isinstance(parsed, Rejected)
    paths = [path for path, _ in parsed.problems]
    assert paths == [("Fn::If", 1), ("Fn::If", 2)]
    assert "Missing" in parsed.problems[0][1]
    assert "condition Nowhere is not defined" in parsed.problems[1][1]


def test_fn_if_deeper_than_the_limit_is_rejected_where_it_goes_too_deep() -> None:
    value: Any = {"Ref": "First"}
    for _ in range(cfn.MAX_IF_DEPTH + 1):
        value = _if("A", value, NO_VALUE)

    parsed = parse_role(value, INDEX, owner="Web")

    assert isinstance(parsed, Rejected)
    ((path, message),) = parsed.problems
    assert path == ("Fn::If", 1) * cfn.MAX_IF_DEPTH
    assert message == cfn.TOO_DEEP_IF


class Node(dict[str, Any]):
    """A dict subclass, as cfn-lint's YAML reader gives the lint rules."""


def _as_nodes(value: Any) -> Any:
    if isinstance(value, dict):
        return Node({key: _as_nodes(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_as_nodes(item) for item in value]
    return value


def test_a_readers_dict_subclass_reads_as_the_plain_dict_does() -> None:
    value = _if("A", {"Ref": "First"}, _if("B", NO_VALUE, {"Fn::Sub": "${AWS::StackName}-ops"}))

    assert parse_role(_as_nodes(value), INDEX, owner="Web") == parse_role(value, INDEX, owner="Web")


def test_the_walks_of_one_template_share_each_template_roles_choice() -> None:
    made: TemplateRoles = {}

    first = parse_role({"Ref": "First"}, INDEX, owner="Web", made=made)
    again = parse_role({"Fn::GetAtt": ["First", "Arn"]}, INDEX, owner="Worker", made=made)

    assert not isinstance(first, Rejected) and not isinstance(again, Rejected)
    assert first[0] is again[0]
    assert list(made) == ["First"]
