"""The real-world corpus: every shorthand twin expands to a template equivalent to its published original.

Equivalence as ../shared/corpus/README.md defines it: each consumer points at an instance profile (in a form
its property accepts) whose Roles holds the same role; everything else is unchanged; cfn-lint finds
nothing in the output that it does not find in the original.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from profile_expand import expand
from profile_expand.core.sites import SITES
from tests.support import CORPUS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (CORPUS / "manifest.json").exists(), reason="../shared/corpus is not beside the project"
    ),
]

CASES = (
    json.loads((CORPUS / "manifest.json").read_text())["cases"] if (CORPUS / "manifest.json").exists() else []
)


def _steps(dotted: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", dotted)]


def _get(template: Any, dotted: str) -> Any:
    node = template
    for step in _steps(dotted):
        node = node[step]
    return node


def _pop(template: Any, dotted: str) -> Any:
    *parents, last = _steps(dotted)
    node = template
    for step in parents:
        node = node[step]
    return node.pop(last)


def _profile_of(value: Any) -> str:
    """The logical ID a profile reference names, in any of the forms sites accept."""
    if isinstance(value, dict) and set(value) <= {"Arn", "Name"} and len(value) == 1:
        value = next(iter(value.values()))
    if "Ref" in value:
        return str(value["Ref"])
    target, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn", value
    return str(target)


def _depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


def _load(relative: str) -> Any:
    return json.loads((CORPUS / relative).read_text())


def _lint_counts(template: dict[str, Any]) -> Counter[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    return Counter(match.rule.id for match in matches)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_shorthand_expands_to_the_original(case: dict[str, Any]) -> None:
    shorthand = _load(case["shorthand"])
    original = _load(case["original"])
    output = expand(shorthand)

    for conversion in case["conversions"]:
        value = _get(output, conversion["property_path"])
        profile_id = _profile_of(value)
        profile = output["Resources"][profile_id]
        assert profile["Type"] == "AWS::IAM::InstanceProfile"
        assert profile["Properties"]["Roles"] == [conversion["role_ref"]], conversion["consumer"]
        # The original's profile held the same role.
        original_profile = original["Resources"][conversion["profile"]]
        assert original_profile["Properties"]["Roles"] == [conversion["role_ref"]]
        # And the reference is in a form the property accepts.
        site = next(
            s
            for s in SITES
            if s.resource_type == conversion["consumer_type"]
            and conversion["property_path"].endswith(s.property_path)
        )
        forms = {f.value for f in site.accepts}
        form = (
            "{Arn}"
            if "Arn" in value
            else "{Name}"
            if "Name" in value
            else "name"
            if "Ref" in value
            else "arn"
        )
        assert form in forms, (conversion["consumer"], value)

    # Everything else is unchanged: drop the rewritten properties and the added resources, compare.
    rest_out, rest_in = json.loads(json.dumps(output)), json.loads(json.dumps(shorthand))
    # Permission readiness may add DependsOn on a consumer: only ever on policies attached to its role.
    for conversion in case["conversions"]:
        consumer = conversion["consumer"]
        added = set(_depends_on(rest_out["Resources"][consumer])) - set(
            _depends_on(rest_in["Resources"][consumer])
        )
        for policy in added:
            properties = output["Resources"][policy]["Properties"]
            assert conversion["role_ref"] in properties.get("Roles", [properties.get("RoleName")]), policy
        if added:
            rest_out["Resources"][consumer].pop("DependsOn")
            rest_in["Resources"][consumer].pop("DependsOn", None)
    for conversion in case["conversions"]:
        _pop(rest_out, conversion["property_path"])
        _pop(rest_in, conversion["shorthand_path"])
    added = [lid for lid in output["Resources"] if lid not in shorthand["Resources"]]
    for logical_id in added:
        assert output["Resources"][logical_id]["Type"] == "AWS::IAM::InstanceProfile"
        del rest_out["Resources"][logical_id]
    assert rest_out == rest_in
    assert list(output["Resources"])[: len(shorthand["Resources"])] == list(shorthand["Resources"])
    if not case["conversions"]:
        assert output == shorthand

    # cfn-lint finds nothing new: compare rule by rule against the original (Transform as the original had it).
    linted = dict(output)
    linted.pop("Transform", None)
    if "Transform" in original:
        linted["Transform"] = original["Transform"]
    new_findings = _lint_counts(linted) - _lint_counts(original)
    assert not new_findings, new_findings


def test_corpus_covers_every_case_in_the_folder() -> None:
    listed = {case["shorthand"] for case in CASES}
    on_disk = {f"shorthand/{path.name}" for path in (CORPUS / "shorthand").glob("*.json")}
    assert listed == on_disk
