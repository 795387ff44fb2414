"""CloudFormation's own limits first, and no pass quadratic in the template (issue 17 item 4).

No timing assertions: each test counts the operations a pass makes, or checks which error comes first.
"""

from __future__ import annotations

import difflib
from typing import Any

import pytest
from bench.adversarial import _long_id, at_limit, deep_fn_if, long_ids_with_typos, many_sites, policy_chains

import profile_expand.core.pipeline
import profile_expand.core.render
from profile_expand import InvalidTemplateError, expand
from profile_expand.core.pipeline import analyse

ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}


def _error(template: dict[str, Any]) -> str:
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    return str(raised.value)


def _no_collect(*_: object) -> None:
    raise AssertionError("collect ran: the limit must be checked before any pass over the sites")


def test_more_than_500_resources_is_reported_before_any_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    resources = {f"Role{n}": ROLE for n in range(600)}
    resources.update(
        {f"Web{n}": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": f"Rloe{n}"}} for n in range(600)}
    )
    monkeypatch.setattr(profile_expand.core.pipeline, "collect", _no_collect)
    message = _error({"Resources": resources})
    assert "the template has 1200 resources, more than CloudFormation's limit of 500" in message
    assert "found 1 error" in message


def test_a_logical_id_longer_than_255_characters_is_reported_before_any_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    long_id = "Web" + "x" * 300
    monkeypatch.setattr(profile_expand.core.pipeline, "collect", _no_collect)
    message = _error({"Resources": {"AppRole": ROLE, long_id: {"Type": "AWS::EC2::Instance"}}})
    assert "logical ID is 303 characters long, more than CloudFormation's 255" in message
    assert "Resource Webxxx" in message


class _Counter:
    def __init__(self) -> None:
        self.calls = 0


def test_did_you_mean_compares_each_typo_with_a_bounded_number_of_roles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """60 roles of 120-character IDs, 59 sites naming one with a typo: each suggestion compares the typo
    with its neighbours (by prefix and by suffix), not with every role (was 59 x 60)."""
    counter = _Counter()
    set_seq1 = difflib.SequenceMatcher.set_seq1

    def counted(self: difflib.SequenceMatcher[str], candidate: str) -> None:
        counter.calls += 1  # difflib sets each candidate it compares as seq1
        set_seq1(self, candidate)

    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counted)
    resources: dict[str, Any] = {_long_id(n): ROLE for n in range(60)}
    for n in range(59):
        typo = _long_id(n)[:-6] + "rloe" + _long_id(n)[-2:]
        resources[f"Web{n}"] = {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": typo}}
    message = _error({"Resources": resources})
    assert message.count("Did you mean") == 59
    assert f"Did you mean {_long_id(7)[:77]}..." in message
    assert counter.calls <= 59 * 4


def test_readiness_reads_each_resource_once_however_long_the_policy_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """497 policies on the role, each depending on the one before: whether a policy depends on the
    instance is asked 497 times; each resource's references are read once (was once per policy)."""
    import profile_expand.core.readiness as readiness

    counter = _Counter()
    references = readiness.references

    def counted(resource: object) -> Any:
        counter.calls += 1
        return references(resource)

    monkeypatch.setattr(readiness, "references", counted)
    template = policy_chains("")
    output = expand(template)
    policies = [lid for lid in template["Resources"] if lid.startswith("Policy")]
    assert output["Resources"]["Web"]["DependsOn"] == sorted(policies)
    assert counter.calls == len(template["Resources"])


@pytest.mark.parametrize("shape", [deep_fn_if, many_sites, policy_chains, long_ids_with_typos])
def test_each_adversarial_shape_at_the_1_mb_limit_gives_an_answer(shape: Any) -> None:
    """What `make bench` times: every shape stays within CloudFormation's limits and is answered."""
    template = at_limit(shape)
    assert len(template["Resources"]) <= 500
    model = analyse(template)
    if shape is long_ids_with_typos:
        assert len(model.errors) == 249
    else:
        assert model.errors == () and model.plan is not None


def test_render_copies_a_list_of_sites_once_however_many_sites_it_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000 launch specifications of one spot fleet, each with IamRole: render copies the list once (a
    rewrite at a time copied it once per specification: quadratic in the template)."""
    copies = _Counter()

    class _CountingCopies(type):
        """Stands in for `list` in the core's globals: a copy of a long list is counted."""

        def __instancecheck__(cls, instance: object) -> bool:
            return isinstance(instance, list)

        def __call__(cls, items: Any = ()) -> list[Any]:
            copied = list(items)
            copies.calls += len(copied) >= 2000
            return copied

    # render's list() and isinstance(..., list) look the name up in its globals before the builtins.
    monkeypatch.setattr(profile_expand.core.render, "list", _CountingCopies("list", (), {}), raising=False)
    specifications = [{"ImageId": "ami-1", "IamRole": {"Ref": "AppRole"}} for _ in range(2000)]
    fleet = {
        "Type": "AWS::EC2::SpotFleet",
        "Properties": {
            "SpotFleetRequestConfigData": {
                "IamFleetRole": "arn:aws:iam::1:role/f",
                "LaunchSpecifications": specifications,
            }
        },
    }
    output = expand({"Resources": {"AppRole": ROLE, "Fleet": fleet}})
    written = output["Resources"]["Fleet"]["Properties"]["SpotFleetRequestConfigData"]["LaunchSpecifications"]
    assert len(written) == 2000
    assert all(
        spec["IamInstanceProfile"] == {"Arn": {"Fn::GetAtt": ["AppRoleInstanceProfile", "Arn"]}}
        for spec in written
    )
    assert copies.calls == 1
