"""What `profile-expand migrate` proves of a conversion: the expansion deploys what the original did
(the same resources, sections and dependencies), compared after normalising what CloudFormation reads alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from profile_expand.core import cfn
from profile_expand.core.index import index_template
from profile_expand.core.model import PROFILE, Found
from profile_expand.core.pipeline import analyse
from profile_expand.core.readiness import references, sub_names
from profile_expand.core.sites import ProfileForm

Path = tuple[str | int, ...]


def differences(
    original: Mapping[str, Any],
    expanded: Mapping[str, Any],
    moved: Mapping[str, tuple[str, ...]] | None = None,
) -> list[str]:
    """How an expansion differs from the original template, in what CloudFormation deploys.

    The same resources with the same properties and attributes, the same Conditions, Outputs and other
    sections, and the same dependencies: each resource's explicit DependsOn together with the resources
    its Ref, Fn::GetAtt and Fn::Sub name. So a DependsOn that a reference already implies may go; nothing
    else may change. The Transform and the macro's own Metadata are not compared (transform_problems
    checks the Transform).

    One change is the same deployment, made safe: a profile's Roles entry naming a template role by its
    literal RoleName, which the expansion writes `!Ref <Role>` (the same name, now created after the
    role). Both sides are compared with such an entry written as that `Ref`. Likewise a site naming a
    template profile by its name (`!Ref InstanceRole` where the profile is named after the role, or the
    profile's literal name) is compared as `!Ref <Profile>`, which the expansion writes.

    moved: profile -> dependencies of its own that migrate moved onto the resources using it: the profile
    no longer waits for them, and each resource that waited for the profile waits for them itself."""
    # Both sides: the original is itself an expansion when the template already used the macro.
    left, right = _comparable(original, expanded=True), _comparable(expanded, expanded=True)
    found: list[str] = []
    for section in sorted(set(left) | set(right), key=str):
        if section == cfn.RESOURCES:
            continue
        if left.get(section) != right.get(section):
            found.append(f"section {section} differs")
    before, after = left.get(cfn.RESOURCES) or {}, right.get(cfn.RESOURCES) or {}
    for lid in before:
        if lid not in after:
            found.append(f"resource {lid} is gone")
            continue
        old, new = before[lid], after[lid]
        if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
            if old != new:
                found.append(f"resource {lid} differs")
            continue
        keys = sorted(k for k in {*old, *new} if k != cfn.DEPENDS_ON and old.get(k) != new.get(k))
        if keys:
            found.append(f"resource {lid} differs in {', '.join(map(str, keys))}")
        was, now = _dependencies(old, before), _dependencies(new, after)
        for profile, names in (moved or {}).items():
            if lid == profile:
                was -= set(names)
            elif profile in was:
                was |= {name for name in names if name != lid}
        if was != now:
            found.append(
                f"resource {lid} depends on {', '.join(sorted(now)) or 'nothing'} instead of "
                f"{', '.join(sorted(was)) or 'nothing'}"
            )
    found += [f"resource {lid} is added" for lid in after if lid not in before]
    return found


def _dependencies(resource: Mapping[str, Any], resources: Mapping[str, Any]) -> set[str]:
    """The resources this one waits for: its DependsOn, and every resource it names with Ref, Fn::GetAtt or
    Fn::Sub (CloudFormation orders both alike)."""
    return {name for name in references(resource) if name in resources}


def _value_at(template: Any, path: Path) -> Any:
    node = template
    for step in path:
        node = node[step]
    return node


def _references(node: Any, profile: str, path: Path) -> Iterator[tuple[Path, str]]:
    """(path, how) of every mention of the profile's logical ID: Ref, Fn::GetAtt, Fn::Sub, DependsOn."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == cfn.REF and value == profile:
                yield path, "Ref"
            elif key == cfn.GET_ATT and _get_att_target(value) == profile:
                yield path, "Fn::GetAtt"
            elif key == cfn.FN_SUB:
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str) and profile in sub_names(text):
                    yield path, "Fn::Sub"
                yield from _references(value, profile, (*path, key))
            elif key == cfn.DEPENDS_ON and (
                value == profile or (isinstance(value, list) and profile in value)
            ):
                yield (*path, key), "DependsOn"
            else:
                yield from _references(value, profile, (*path, key))
    elif isinstance(node, list):
        for position, item in enumerate(node):
            yield from _references(item, profile, (*path, position))


def _get_att_target(value: Any) -> Any:
    if isinstance(value, list) and value:
        return value[0]
    if isinstance(value, str):
        return value.split(".", 1)[0]
    return None


def _comparable(template: Mapping[str, Any], expanded: bool) -> dict[str, Any]:
    result = {key: _normalise(value) for key, value in template.items() if key != cfn.TRANSFORM}
    resources = result.get(cfn.RESOURCES)
    if expanded and isinstance(resources, dict):
        for resource in resources.values():
            metadata = resource.get(cfn.METADATA) if isinstance(resource, dict) else None
            if isinstance(metadata, dict) and cfn.METADATA_KEY in metadata:
                del metadata[cfn.METADATA_KEY]
                if not metadata:
                    del resource[cfn.METADATA]
    if isinstance(resources, dict):
        _roles_by_reference(resources)
        _profiles_by_reference(result)
    return result


def _profiles_by_reference(template: dict[str, Any]) -> None:
    """Write each site value that names a template profile by its name (a literal InstanceProfileName, or
    `Ref` of what the profile is named after) as `Ref` of the profile: the same name at deploy time, now
    created after the profile (what the macro writes, W9004)."""
    for leaf in analyse(template, transform_declared=False).found:
        profile = named_by_name(leaf)
        if profile is None:
            continue
        container = _value_at(template, (cfn.RESOURCES, leaf.logical_id, *leaf.container))
        if isinstance(container, dict) and container.get(leaf.key) == leaf.value:
            container[leaf.key] = cfn.ref(profile)


def named_by_name(leaf: Found) -> str | None:
    """The template profile a site's whole value names by its name, not by `!Ref <Profile>`: a literal
    InstanceProfileName, or `!Ref X` where the profile is named after X (the core's judgement)."""
    if leaf.kind != PROFILE or leaf.how != ProfileForm.NAME.value or leaf.profile is None or leaf.steps:
        return None
    return None if leaf.value == cfn.ref(leaf.profile) else leaf.profile


def _roles_by_reference(resources: dict[str, Any]) -> None:
    """Write each profile's Roles entry that is a template role's literal RoleName as `Ref` of that role."""
    names = index_template({cfn.RESOURCES: resources}, resources).role_names
    if not names:
        return
    for resource in resources.values():
        if not isinstance(resource, dict) or resource.get(cfn.TYPE) != cfn.INSTANCE_PROFILE_TYPE:
            continue
        properties = resource.get(cfn.PROPERTIES)
        roles = properties.get(cfn.ROLES) if isinstance(properties, dict) else None
        if isinstance(roles, list):
            assert isinstance(properties, dict)
            properties[cfn.ROLES] = [
                cfn.ref(names[entry]) if isinstance(entry, str) and entry in names else entry
                for entry in roles
            ]


def _normalise(value: Any) -> Any:
    """A copy in which `Fn::GetAtt: "X.Arn"` is written `Fn::GetAtt: [X, Arn]`, as CloudFormation reads both."""
    if isinstance(value, Mapping):
        if len(value) == 1 and isinstance(value.get(cfn.GET_ATT), str) and "." in value[cfn.GET_ATT]:
            return {cfn.GET_ATT: value[cfn.GET_ATT].split(".", 1)}
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def _readable(path: Path) -> str:
    parts = list(path[1:]) if path and path[0] == cfn.RESOURCES else list(path)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
