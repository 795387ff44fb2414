"""Property test of `profile-expand migrate` (issue 18): random templates with hand-written instance profiles
in every form each site accepts, written as YAML with comments everywhere (block style, or a flow-style
Resources mapping) or as JSON, migrate back to the same deployed stack and keep every comment."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from profile_expand import expand
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.migrate_nodes import comments, lost_comments
from profile_expand.cli.migrate_source import migrate_text
from profile_expand.cli.yaml_io import decode, dump_json, dump_yaml
from profile_expand.core.sites import EACH, SITES, Site, SiteKind
from tests.strategies import PROPERTY_SETTINGS

ROLES = ("AppRole", "WorkerRole")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class Drawn:
    """A hand-written template and what migrate must do with it."""

    def __init__(self, template: dict[str, Any], expected_kept: set[str], keep_references: bool) -> None:
        self.template = template
        self.expected_kept = expected_kept
        self.keep_references = keep_references


def _site_resource(site: Site, value: Any) -> dict[str, Any]:
    """A resource of the site's type with `value` at its profile property (and a sibling beside it)."""
    if site.kind is SiteKind.OPTION_SETTING:
        setting = {"Namespace": site.option_namespace, "OptionName": site.profile_property, "Value": value}
        properties: dict[str, Any] = {"ApplicationName": "app", "OptionSettings": [setting]}
    else:
        node: Any = {"Description": "beside the profile", site.profile_property: value}
        for step in reversed(site.container[1:]):
            node = [node] if step == EACH else {step: node}
        properties = node
    return {"Type": site.resource_type, "Properties": properties}


@st.composite
def hand_written(draw: st.DrawFn) -> Drawn:
    resources: dict[str, Any] = {
        role: {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}} for role in ROLES
    }
    resources["Topic"] = {"Type": "AWS::SNS::Topic"}
    if draw(st.booleans()):
        # A policy on a role: the macro would make its sites wait for it (migrate turns that off).
        resources["AppPolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "p", "PolicyDocument": TRUST, "Roles": [{"Ref": "AppRole"}]},
        }
    outputs: dict[str, Any] = {}
    expected_kept: set[str] = set()
    keep_references = draw(st.booleans())
    sites_drawn = 0
    for number in range(draw(st.integers(1, 3))):
        role = draw(st.sampled_from(ROLES))
        # Named as the macro would name it (no option needed), or anything else (LogicalId).
        logical_id = draw(st.sampled_from([f"{role}InstanceProfile", f"Profile{number}"]))
        if logical_id in resources:
            logical_id = f"Profile{number}"
        properties: dict[str, Any] = {"Roles": [{"Ref": role}]}
        if draw(st.booleans()):
            properties["Path"] = draw(st.sampled_from(["/", "/app/", "/team/web/"]))
        uses = draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=2))
        if any(site.profile_name_prefix for site in uses) or draw(st.booleans()):
            # RDS Custom takes only profiles named AWSRDSCustom...; a name is fine everywhere else.
            properties["InstanceProfileName"] = f"AWSRDSCustom-{logical_id.lower()}"
        profile: dict[str, Any] = {"Type": "AWS::IAM::InstanceProfile", "Properties": properties}
        if draw(st.booleans()):
            profile = {"Type": profile["Type"], "DependsOn": role, "Properties": properties}  # implied
        condition = draw(st.sampled_from([None, None, "IsProd"]))
        if condition is not None:
            # The profile under a condition every site of it shares: it carries over to the sites.
            profile = {"Type": profile["Type"], "Condition": condition, **profile}
        resources[logical_id] = profile
        for site in uses:
            form = draw(st.sampled_from(site.accepts))
            resource = _site_resource(site, form.reference(logical_id))
            dependency = draw(
                st.sampled_from(
                    [None, logical_id, [logical_id], [logical_id, "Topic"], ["Topic", logical_id]]
                )
            )
            if dependency is not None:
                resource = {"Type": resource["Type"], "DependsOn": dependency, **resource}
            if condition is not None:
                resource = {"Type": resource["Type"], "Condition": condition, **resource}
            resources[f"Site{sites_drawn}"] = resource
            sites_drawn += 1
        if draw(st.integers(0, 3)) == 0:
            outputs[f"{logical_id}Arn"] = {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}}
            if not keep_references:
                expected_kept.add(logical_id)
    order = draw(st.permutations(sorted(resources)))
    template: dict[str, Any] = {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "123456789012"]}},
        "Resources": {key: resources[key] for key in order},
    }
    if outputs:
        template["Outputs"] = outputs
    return Drawn(template, expected_kept, keep_references)


# -- writing it as an author would, comments everywhere ---------------------------------------------------


def _with_comments(text: str, draw: st.DrawFn) -> str:
    """Block YAML with a comment after many lines and on lines of their own before many others."""
    chance = draw(st.randoms(use_true_random=False))  # one draw, however long the text
    lines = []
    for number, line in enumerate(text.splitlines()):
        indent = line[: len(line) - len(line.lstrip(" "))]
        if number and chance.random() < 0.5:
            lines.append(f"{indent}# before {number}")
        lines.append(f"{line}  # after {number}" if chance.random() < 0.5 else line)
    return "\n".join(lines) + "\n"


def _flow_resources(template: dict[str, Any], draw: st.DrawFn) -> str:
    """Resources as a flow mapping (each member a JSON value on its lines), comments between members."""
    chance = draw(st.randoms(use_true_random=False))
    members = []
    for number, (logical_id, resource) in enumerate(template["Resources"].items()):
        comment = f"  # resource {number}\n" if chance.random() < 0.5 else ""
        body = json.dumps(resource, indent=2).replace("\n", "\n  ")
        if chance.random() < 0.5:
            # A comment inside the member, after its first line.
            body = body.replace("\n", f"  # inside {number}\n", 1)
        members.append(f"{comment}  {json.dumps(logical_id)}: {body}")
    text = "Resources: {\n" + ",\n".join(members) + "\n}  # end of resources\n"
    rest = {key: value for key, value in template.items() if key != "Resources"}
    return text + (dump_yaml(rest) if rest else "")


@st.composite
def written(draw: st.DrawFn) -> tuple[Drawn, str, str]:
    drawn = draw(hand_written())
    style = draw(st.sampled_from(["block", "flow", "json"]))
    if style == "json":
        return drawn, style, dump_json(drawn.template)
    if style == "flow":
        return drawn, style, _flow_resources(drawn.template, draw)
    return drawn, style, _with_comments(dump_yaml(drawn.template), draw)


# -- an oracle of its own for "the same deployed stack" ----------------------------------------------------


def _names(resource: Any, logical_id: str) -> bool:
    text = json.dumps(resource)
    return f'{{"Ref": "{logical_id}"}}' in text or f'"Fn::GetAtt": ["{logical_id}"' in text


def _same_stack(original: dict[str, Any], expanded: dict[str, Any]) -> None:
    """Same resources, each with the same properties and attributes; a DependsOn entry may go only where
    the resource names that resource anyway; the same Outputs."""
    assert expanded.get("Outputs") == original.get("Outputs")
    assert expanded.get("Conditions") == original.get("Conditions")
    before, after = original["Resources"], copy.deepcopy(expanded["Resources"])
    assert set(after) == set(before)
    for logical_id, resource in after.items():
        metadata = resource.get("Metadata", {})
        metadata.pop("ProfileExpand", None)
        if not metadata:
            resource.pop("Metadata", None)
        old = before[logical_id]
        rest = {key: value for key, value in resource.items() if key != "DependsOn"}
        assert rest == {key: value for key, value in old.items() if key != "DependsOn"}, logical_id
        was = old.get("DependsOn", [])
        now = resource.get("DependsOn", [])
        was, now = ([was] if isinstance(was, str) else was), ([now] if isinstance(now, str) else now)
        assert set(now) <= set(was), logical_id
        for gone in set(was) - set(now):
            assert _names(resource, gone), f"{logical_id} no longer waits for {gone}"


@settings(PROPERTY_SETTINGS, max_examples=max(50, PROPERTY_SETTINGS.max_examples // 10))
@given(written())
def test_hand_written_profiles_in_every_form_migrate_to_the_same_stack_keeping_every_comment(
    case: tuple[Drawn, str, str],
) -> None:
    drawn, style, text = case
    migration = migrate_text(text, keep_references=drawn.keep_references)
    assert migration.mismatches == ()
    kept = {kept.profile for kept in migration.plan.kept}
    # Nothing is kept for its form or for a DependsOn a reference implies: only for an Output naming it.
    assert kept == drawn.expected_kept, migration.plan.kept
    for kept_profile in migration.plan.kept:
        assert [reason.code for reason in kept_profile.reasons] == ["outputs"]
    event(f"{style}: converted {min(len(migration.plan.conversions), 3)}, kept {len(kept)}")
    migrated = decode(migration.text).plain
    expanded = expand(migrated)
    assert differences(drawn.template, expanded) == []
    _same_stack(drawn.template, expanded)
    assert lost_comments(text, migration.text) == []
    assert len(comments(migration.text)) == len(comments(text))
    assert not {c.profile for c in migration.plan.conversions} & set(migrated["Resources"])
