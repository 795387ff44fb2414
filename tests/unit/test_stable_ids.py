"""The invariant behind generated IDs: what a site gets never depends on other resources.

For every generated template (every site, every form of IamRole, inline definitions, Profile options
with LogicalId, PermissionReadiness), adding, removing, renaming or reordering *other* resources leaves
each remaining site's resource exactly as it was expanded, and each generated resource it uses with the
same logical ID and the same Properties. (A shared profile's Condition and its Metadata GeneratedFor may
follow its users: neither replaces the resource.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from profile_expand import InvalidTemplateError, expand
from profile_expand.core.sites import SITES
from tests.strategies import GeneratedTemplate, templates
from tests.unit.test_properties import PROPERTY_SETTINGS

SITE_TYPES = {site.resource_type for site in SITES}
INVARIANT_SETTINGS = settings(
    PROPERTY_SETTINGS,
    max_examples=max(100, PROPERTY_SETTINGS.max_examples // 3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _targets(node: Any) -> Iterator[str]:
    """Logical IDs a value names with Ref or Fn::GetAtt."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                yield str(value[0])
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for item in node:
            yield from _targets(item)


def used_by(site_id: str, template: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, Any]:
    """The site's expanded resource, and (logical ID -> Properties) of each generated resource it uses,
    followed from the site to its profiles and from them to generated roles."""
    resources, out = template["Resources"], output["Resources"]
    seen: dict[str, Any] = {site_id: out[site_id]}
    pending = list(_targets(out[site_id]))
    while pending:
        target = pending.pop()
        if target in resources or target not in out or target in seen:
            continue
        seen[target] = out[target]["Properties"]
        pending.extend(_targets(out[target]["Properties"]))
    return seen


def _referenced(template: Mapping[str, Any], logical_id: str) -> bool:
    """Whether anything but the resource itself names this logical ID (then removing it is not unrelated)."""
    rest = {key: value for key, value in template.items() if key != "Resources"}
    rest["Resources"] = {k: v for k, v in template["Resources"].items() if k != logical_id}
    return logical_id in json.dumps(rest)


@st.composite
def edits(draw: st.DrawFn, generated: GeneratedTemplate) -> tuple[str, dict[str, Any], str]:
    """(a site resource kept as it is, the template after an edit of other resources, what the edit was)."""
    template = generated.template
    resources = template["Resources"]
    sites = sorted(lid for lid, r in resources.items() if isinstance(r, dict) and r.get("Type") in SITE_TYPES)
    keep = draw(st.sampled_from(sites))
    others = [lid for lid in sites if lid != keep and not _referenced(template, lid)]
    kinds = ["add copy", "add unrelated", "reorder"] + (["remove", "rename"] if others else [])
    kind = draw(st.sampled_from(kinds))
    edited = dict(resources)
    if kind == "add copy":
        # The hardest case: another resource with the very same IamRole (same inline definition, same
        # options), named to sort before every other resource.
        edited = {"AaaCopy": copy.deepcopy(resources[keep]), **edited}
    elif kind == "add unrelated":
        edited = {"AaaQueue": {"Type": "AWS::SQS::Queue"}, **edited}
    elif kind == "remove":
        del edited[draw(st.sampled_from(others))]
    elif kind == "rename":
        old = draw(st.sampled_from(others))
        new = draw(st.sampled_from(["A", "Zz"])) + old
        edited = {(new if lid == old else lid): value for lid, value in edited.items()}
    order = draw(st.permutations(sorted(edited)))
    edited = {lid: edited[lid] for lid in order}
    return keep, {**template, "Resources": edited}, kind


@INVARIANT_SETTINGS
@given(st.data(), templates())
def test_other_resources_never_change_what_a_site_gets(
    data: st.DataObject, generated: GeneratedTemplate
) -> None:
    template = generated.template
    output = expand(template)
    keep, edited, kind = data.draw(edits(generated))
    try:
        edited_output = expand(edited)
    except InvalidTemplateError:
        # A copy may be refused (e.g. two inline roles' profiles would share one InstanceProfileName).
        assert kind == "add copy"
        reject()
    before = used_by(keep, template, output)
    after = used_by(keep, edited, edited_output)
    assert after == before, f"{kind} changed what {keep} gets:\n{json.dumps(before)}\n{json.dumps(after)}"


def test_the_issue_example_web_keeps_its_role_when_api_is_added() -> None:
    ssm = {"ManagedPolicyArns": ["AmazonSSMManagedInstanceCore"]}

    def instance() -> dict[str, Any]:
        return {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1", "IamRole": dict(ssm)}}

    alone = {"Resources": {"Web": instance()}}
    both = {"Resources": {"Web": instance(), "Api": instance()}}
    assert used_by("Web", alone, expand(alone)) == used_by("Web", both, expand(both))
    assert expand(both)["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "WebRoleInstanceProfile"
    }
