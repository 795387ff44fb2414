"""The oracle of the property tests: what a correct expansion of a generated template looks like.

Derived from the sites table and the generator's own bookkeeping (tests/strategies.py), never from the
core. Used by the core's properties (unit/) and the handler's (functional/).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, SiteKind
from tests.strategies import CONDITION_NAMES, NO_VALUE

PROFILE_TYPE = "AWS::IAM::InstanceProfile"
ROLE_TYPE = "AWS::IAM::Role"
PLACEHOLDER = "<rewritten site>"


# -- where the sites are, derived from the table --------------------------------------------------


@dataclass(frozen=True)
class Location:
    """One site of the input the macro must rewrite."""

    logical_id: str
    site: Site
    path: tuple[str | int, ...]  # below the resource: the container, or the option-settings entry
    value: Any  # the role as written: the IamRole value, or the role in the profile property


def _walk(node: Any, steps: tuple[str, ...], path: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, Any]]:
    if not steps:
        yield path, node
    elif steps[0] == EACH:
        if isinstance(node, list):
            for position, item in enumerate(node):
                yield from _walk(item, steps[1:], (*path, position))
    elif isinstance(node, dict) and steps[0] in node:
        yield from _walk(node[steps[0]], steps[1:], (*path, steps[0]))


def _role_ids(template: Mapping[str, Any]) -> set[str]:
    return {
        lid
        for lid, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == ROLE_TYPE
    }


def _role_in_profile_property(value: Any, site: Site, roles: set[str]) -> Any:
    """The role reference when a profile property holds a role of the template (the corrected mistake)."""
    if site.writes in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT) and isinstance(value, dict):
        inner = [value[key] for key in ("Arn", "Name") if key in value]
        value = inner[0] if len(inner) == 1 else None
    return value if _template_role(value, roles) else None


def locations(template: Mapping[str, Any]) -> list[Location]:
    roles = _role_ids(template)
    found = []
    for lid, resource in template["Resources"].items():
        if not (isinstance(resource, dict) and isinstance(resource.get("Type"), str)):
            continue
        for site in (s for s in SITES if s.resource_type == resource["Type"]):
            for path, node in _walk(resource, site.container):
                if site.kind is SiteKind.OPTION_SETTING and isinstance(node, list):
                    for position, entry in enumerate(node):
                        if not (isinstance(entry, dict) and entry.get("Namespace") == site.option_namespace):
                            continue
                        if entry.get("OptionName") == "IamRole":
                            found.append(Location(lid, site, (*path, position), entry.get("Value")))
                        elif entry.get("OptionName") == site.profile_property:
                            role = _role_in_profile_property(entry.get("Value"), site, roles)
                            if role is not None:
                                found.append(Location(lid, site, (*path, position), role))
                elif site.kind is SiteKind.PROPERTY and isinstance(node, dict):
                    if "IamRole" in node:
                        found.append(Location(lid, site, path, node["IamRole"]))
                    elif site.profile_property in node:
                        role = _role_in_profile_property(node[site.profile_property], site, roles)
                        if role is not None:
                            found.append(Location(lid, site, path, role))
    return found


def at(resource: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        resource = resource[step]
    return resource


# -- what a role value means ----------------------------------------------------------------------


def is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(next(iter(value)), str)
        and (next(iter(value)) in ("Ref", "Condition") or next(iter(value)).startswith("Fn::"))
    )


def unwrap(value: Any) -> tuple[Any, dict[str, Any]]:
    """IamRole {Role, Profile} -> (the role part, the profile options); any other value has no options."""
    if isinstance(value, dict) and not is_intrinsic(value) and ("Role" in value or "Profile" in value):
        return value.get("Role"), value.get("Profile", {})
    return value, {}


def _template_role(value: Any, roles: set[str]) -> str | None:
    """The role logical ID a value names, when it names a role resource of the template."""
    target: Any = None
    if isinstance(value, str):
        target = value
    elif isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            target = argument
        elif function == "Fn::GetAtt":
            if isinstance(argument, str) and argument.endswith(".Arn"):
                target = argument[:-4]
            elif isinstance(argument, list) and len(argument) == 2 and argument[1] == "Arn":
                target = argument[0]
    return target if isinstance(target, str) and target in roles else None


def leaves(value: Any) -> Iterator[Any]:
    """Every role a value may choose, whatever the conditions."""
    if (
        isinstance(value, dict)
        and list(value) == ["Fn::If"]
        and isinstance(value["Fn::If"], list)
        and len(value["Fn::If"]) == 3
    ):
        yield from leaves(value["Fn::If"][1])
        yield from leaves(value["Fn::If"][2])
    else:
        yield value


def check_roles_entry(entry: Any, wanted: Any, roles: set[str], output: Mapping[str, Any]) -> None:
    """The profile's Roles entry holds the role as written (Roles takes role names)."""
    role = _template_role(wanted, roles)
    if role:
        assert entry == {"Ref": role}
    elif isinstance(wanted, str) and wanted.startswith("arn:"):
        assert entry == wanted.rsplit("/", 1)[1]
    elif isinstance(wanted, dict) and not is_intrinsic(wanted):
        # An inline definition: a generated role trusting EC2, with the author's properties.
        generated = output["Resources"][entry["Ref"]]
        assert generated["Type"] == ROLE_TYPE
        properties = generated["Properties"]
        trust = json.dumps(properties["AssumeRolePolicyDocument"])
        assert "sts:AssumeRole" in trust and "ec2." in trust
        for key, value in wanted.items():
            if key == "ManagedPolicyArns":
                assert len(properties[key]) == len(value)
                for written, short in zip(properties[key], value, strict=True):
                    assert short in json.dumps(written)
            else:
                assert properties[key] == value, key
    else:
        assert entry == wanted  # a role name, Ref of a parameter, or an intrinsic carried through


def select(value: Any, truth: Mapping[str, bool]) -> Any:
    """The value CloudFormation sees once the Fn::If at the top are resolved."""
    while isinstance(value, dict) and list(value) == ["Fn::If"]:
        condition, when_true, when_false = value["Fn::If"]
        value = when_true if truth[condition] else when_false
    return value


def profile_in(reference: Any, form: ProfileForm) -> str:
    """The profile logical ID a rewritten reference names; fails when it is not in the site's form."""
    shapes = {
        ProfileForm.NAME: lambda p: {"Ref": p},
        ProfileForm.ARN: lambda p: {"Fn::GetAtt": [p, "Arn"]},
        ProfileForm.ARN_OBJECT: lambda p: {"Arn": {"Fn::GetAtt": [p, "Arn"]}},
        ProfileForm.NAME_OBJECT: lambda p: {"Name": {"Ref": p}},
    }
    text = json.dumps(reference)
    found = re.findall(r'"(?:Ref|Fn::GetAtt)": (?:\[)?"([^"]+)"', text)
    assert len(found) == 1, f"not one profile reference: {text}"
    assert reference == shapes[form](found[0]), f"{text} is not in the {form.value} form"
    return str(found[0])


def expected_options(
    options: Mapping[str, Any], site: Site, defaults: Mapping[str, Any]
) -> tuple[Any, Any, Any]:
    """(Path, InstanceProfileName, NamePrefix) of the profile: the site's options over the defaults."""
    path = options.get("Path", defaults.get("Path"))
    name = options.get("InstanceProfileName")
    prefix = (
        options.get("NamePrefix")
        if name is not None or options.get("NamePrefix")
        else defaults.get("NamePrefix")
    )
    required = site.profile_name_prefix
    if required and name is None and not (prefix or "").startswith(required):
        prefix = required
    return path, name, prefix


def check_profile_options(
    profile_id: str, output: Mapping[str, Any], added: bool, expected: tuple[Any, Any, Any]
) -> None:
    path, name, prefix = expected
    properties = output["Resources"][profile_id]["Properties"]
    # A profile of the template is never reused implicitly: the site would then depend on another resource.
    assert added, f"{profile_id} is the template's own profile, reused"
    assert properties.get("Path") == path, f"{profile_id}: Path {properties.get('Path')} != {path}"
    if name is not None:
        assert properties["InstanceProfileName"] == name
    elif prefix is not None:
        assert properties["InstanceProfileName"]["Fn::Join"][1][0] == prefix
    else:
        assert "InstanceProfileName" not in properties


class Conditions:
    """Evaluates the output's conditions, treating the generator's named conditions as free inputs."""

    def __init__(self, template: Mapping[str, Any], truth: Mapping[str, bool]) -> None:
        section = template.get("Conditions")
        self.definitions = section if isinstance(section, dict) else {}
        self.truth = truth

    def named(self, name: str) -> bool:
        if name in self.truth:
            return self.truth[name]
        return self.expression(self.definitions[name])

    def expression(self, node: Any) -> bool:
        ((function, argument),) = node.items()
        if function == "Condition":
            return self.named(argument)
        assert isinstance(argument, list), node
        if function == "Fn::Not":
            (inner,) = argument
            return not self.expression(inner)
        assert 2 <= len(argument) <= 10, f"{function} takes 2 to 10 conditions: {node}"
        values = [self.expression(item) for item in argument]
        assert function in ("Fn::And", "Fn::Or"), node
        return all(values) if function == "Fn::And" else any(values)

    def exists(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.named(condition)


def assignments(template: Mapping[str, Any]) -> Iterator[dict[str, bool]]:
    section = template.get("Conditions")
    names = [name for name in CONDITION_NAMES if isinstance(section, dict) and name in section]
    for values in itertools.product((True, False), repeat=len(names)):
        yield dict(zip(names, values, strict=True))


def profile_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    metadata = template.get("Metadata")
    ours = metadata.get("ProfileExpand") if isinstance(metadata, dict) else None
    return dict(ours.get("ProfileDefaults", {})) if isinstance(ours, dict) else {}


# -- permission readiness -------------------------------------------------------------------------


def attached_policies(resources: Mapping[str, Any]) -> dict[str, list[str]]:
    """Role logical ID -> the template's policies attached to it."""
    attached: dict[str, list[str]] = {}
    for lid, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        properties = resource["Properties"]
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            targets = properties.get("Roles", [])
        elif resource.get("Type") == "AWS::IAM::RolePolicy":
            targets = [properties.get("RoleName")]
        else:
            continue
        for target in targets:
            if isinstance(target, dict) and list(target) == ["Ref"]:
                attached.setdefault(target["Ref"], []).append(lid)
    return attached


def _as_list(depends_on: Any) -> list[str]:
    return [] if depends_on is None else [depends_on] if isinstance(depends_on, str) else list(depends_on)


def check_depends_on(
    template: Mapping[str, Any], output: Mapping[str, Any], found: list[Location]
) -> set[str]:
    """A resource using a role waits for the policies on it (unless under another condition); returns
    the resources whose DependsOn changed."""
    resources, out_resources = template["Resources"], output["Resources"]
    roles, attached = _role_ids(template), attached_policies(resources)
    used: dict[str, set[str]] = {}
    for location in found:
        value = location.value
        if isinstance(value, dict) and value.get("PermissionReadiness") is False:
            continue  # readiness turned off at this site
        for leaf in leaves(unwrap(location.value)[0]):
            role = _template_role(leaf, roles)
            if role:
                used.setdefault(location.logical_id, set()).add(role)
    changed = set()
    for lid, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        before = _as_list(resource.get("DependsOn"))
        required = {
            policy
            for role in used.get(lid, ())
            for policy in attached.get(role, [])
            if policy not in before
            and resources[policy].get("Condition") in (None, resource.get("Condition"))
        }
        if not required:
            assert ("DependsOn" in out_resources[lid]) == ("DependsOn" in resource), lid
            assert out_resources[lid].get("DependsOn") == resource.get("DependsOn"), (
                f"{lid}: DependsOn changed"
            )
            continue
        changed.add(lid)
        after = out_resources[lid]["DependsOn"]
        merged = _as_list(after)
        assert merged[: len(before)] == before, f"{lid}: DependsOn {before} became {merged}"
        assert sorted(merged[len(before) :]) == sorted(required), f"{lid}: waits for {merged}, not {required}"
        if isinstance(resource.get("DependsOn"), list) or len(merged) > 1:
            assert isinstance(after, list)
        else:
            assert after == merged[0], "a single dependency is written as a string"
    return changed


# -- the checks -----------------------------------------------------------------------------------


def check_expansion(template: dict[str, Any], output: dict[str, Any]) -> list[str]:
    """Everything a successful expansion promises, checked against the input it came from.

    Returns the features the template exercised, for Hypothesis' statistics.
    """
    resources, out_resources = template["Resources"], output["Resources"]
    roles = _role_ids(template)
    all_roles = _role_ids(output)
    defaults = profile_defaults(template)
    found = locations(template)
    added = [lid for lid in out_resources if lid not in resources]
    assert list(out_resources)[: len(resources)] == list(resources), "input resources moved or vanished"
    added_profiles = [lid for lid in added if out_resources[lid]["Type"] == PROFILE_TYPE]
    added_roles = [lid for lid in added if out_resources[lid]["Type"] == ROLE_TYPE]
    assert len(added_profiles) + len(added_roles) == len(added), (
        "added something else than profiles and roles"
    )

    # No IamRole is left on any site, and no site still names a role where a profile belongs.
    assert locations(output) == []
    for lid, resource in out_resources.items():
        if isinstance(resource, dict) and isinstance(resource.get("Type"), str):
            for site in (s for s in SITES if s.resource_type == resource["Type"]):
                for _, node in _walk(resource, site.container):
                    if site.kind is SiteKind.PROPERTY and isinstance(node, dict):
                        assert "IamRole" not in node, f"IamRole left in {lid}"

    # Every rewritten site names, in every combination of conditions, a profile holding the role.
    for truth in assignments(template):
        conditions = Conditions(output, truth)
        for location in found:
            if not conditions.exists(resources[location.logical_id]):
                continue
            written = at(out_resources[location.logical_id], location.path)
            if location.site.kind is SiteKind.OPTION_SETTING:
                assert written["OptionName"] == location.site.profile_property
            role_value, options = unwrap(location.value)
            wanted, got = select(role_value, truth), select(written[_key(location)], truth)
            if wanted == NO_VALUE:
                assert got == NO_VALUE, f"{location}: {got} where the input chose no role"
                continue
            profile_id = profile_in(got, location.site.writes)
            profile = out_resources[profile_id]
            assert profile["Type"] == PROFILE_TYPE, f"{profile_id} is not an instance profile"
            (entry,) = profile["Properties"]["Roles"]
            check_roles_entry(entry, wanted, roles, output)
            if "LogicalId" in options:
                assert profile_id == options["LogicalId"], f"{location}: {profile_id} is not the chosen ID"
            expected = expected_options(options, location.site, defaults)
            check_profile_options(profile_id, output, profile_id in added, expected)
            role = _template_role(wanted, roles)
            if role is None or conditions.exists(resources[role]):
                assert conditions.exists(profile), (
                    f"{profile_id} is missing when {location} needs it: {truth}"
                )
        # IAM names are unique: no two profiles that exist together may carry the same literal name.
        names = [
            out_resources[lid]["Properties"].get("InstanceProfileName")
            for lid in added_profiles
            if conditions.exists(out_resources[lid])
        ]
        literal = [name for name in names if isinstance(name, str)]
        assert len(literal) == len(set(literal)), f"two profiles named alike: {literal} when {truth}"
        for lid in added_profiles:
            profile = out_resources[lid]
            if conditions.exists(profile):
                role = _template_role(profile["Properties"]["Roles"][0], all_roles)
                assert role is None or conditions.exists(out_resources[role]), (
                    f"{lid} exists without its role"
                )

    # Every added profile is named by some rewritten site (maybe in a branch no condition reaches), and
    # every added role by some added profile.
    named = set()
    for location in found:
        written = at(out_resources[location.logical_id], location.path)[_key(location)]
        named |= set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([^"]+)"', json.dumps(written)))
    assert set(added_profiles) <= named, f"profiles no site uses: {set(added_profiles) - named}"
    in_profiles = {
        _template_role(out_resources[lid]["Properties"]["Roles"][0], all_roles) for lid in added_profiles
    }
    assert set(added_roles) <= in_profiles, f"roles in no profile: {set(added_roles) - in_profiles}"

    # Added conditions come after the template's own, and each one is some added resource's.
    in_conditions, out_conditions = template.get("Conditions"), output.get("Conditions")
    if isinstance(out_conditions, dict) and isinstance(in_conditions, dict):
        new = [name for name in out_conditions if name not in in_conditions]
        assert list(out_conditions)[: len(in_conditions)] == list(in_conditions)
        referenced = {out_resources[lid].get("Condition") for lid in added}
        assert set(new) <= referenced, f"conditions no profile uses: {set(new) - referenced}"

    # All other content is unchanged, in the same order.
    waiting = check_depends_on(template, output, found)
    assert _normalised(template, found, waiting, rewritten=False) == _normalised(
        _strip_added(output, template), found, waiting, rewritten=True
    )
    values = [unwrap(location.value) for location in found]
    features = {
        "inline role": bool(added_roles),
        "profile options": any(options for _, options in values),
        "profile defaults": bool(defaults),
        "Fn::If": any(len(list(leaves(value))) > 1 for value, _ in values),
        "readiness DependsOn": bool(waiting),
        "new condition": len(output.get("Conditions") or {}) > len(template.get("Conditions") or {}),
        "corrected mistake": any(
            location.value is not None
            and "IamRole" not in json.dumps(location.path)
            and location.site.kind is SiteKind.PROPERTY
            and "IamRole" not in at(resources[location.logical_id], location.path)
            for location in found
        ),
    }
    return [name for name, present in features.items() if present]


def _key(location: Location) -> str:
    return "Value" if location.site.kind is SiteKind.OPTION_SETTING else location.site.profile_property


def _normalised(
    template: Mapping[str, Any], found: list[Location], waiting: set[str], rewritten: bool
) -> str:
    """The template as text with each rewritten site replaced (and DependsOn of waiting resources dropped)."""
    copied = copy.deepcopy(dict(template))
    resources = copied["Resources"]
    for lid in waiting:
        resources[lid].pop("DependsOn", None)
    for location in found:
        node = at(resources[location.logical_id], location.path)
        site = location.site
        if site.kind is SiteKind.OPTION_SETTING:
            node["OptionName"], node["Value"] = site.profile_property, PLACEHOLDER
        elif rewritten or site.profile_property in node:
            assert site.profile_property in node, f"{location.logical_id}: {site.profile_property} missing"
            node[site.profile_property] = PLACEHOLDER
        else:
            # Rename IamRole to the profile property in place: key order is part of the promise.
            items = [(site.profile_property if k == "IamRole" else k, v) for k, v in node.items()]
            node.clear()
            node.update((k, PLACEHOLDER if k == site.profile_property else v) for k, v in items)
    return json.dumps(copied)


def _strip_added(output: dict[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """The output without the resources and conditions the expansion added."""
    stripped = dict(output)
    stripped["Resources"] = {k: v for k, v in output["Resources"].items() if k in template["Resources"]}
    if "Conditions" in output:
        if "Conditions" not in template:
            del stripped["Conditions"]
        elif isinstance(template["Conditions"], dict):
            stripped["Conditions"] = {
                k: v for k, v in output["Conditions"].items() if k in template["Conditions"]
            }
    return stripped
