"""render: the expanded template a model describes: references rewritten, generated resources added."""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.errors import TemplateWarning
from profile_expand.core.model import (
    InlineRole,
    Model,
    Profile,
    Use,
)
from profile_expand.core.profile_options import (
    stack_unique_name,
)
from profile_expand.core.readiness import depends_on_list
from profile_expand.core.roles import (
    IfChoice,
    NoValue,
    RoleChoice,
)
from profile_expand.core.sites import ProfileForm, SiteKind
from profile_expand.core.text import Path, digest


class Expansion(NamedTuple):
    """The expanded template and what was done to it."""

    template: dict[str, Any]
    warnings: tuple[TemplateWarning, ...]
    profiles_created: tuple[str, ...]
    sites_rewritten: int
    roles_created: tuple[str, ...] = ()


def render(template: Mapping[str, Any], model: Model) -> Expansion:
    """The expanded template the model's plan describes, and the report of what was done."""
    warnings = tuple(finding.as_warning() for finding in model.warnings)
    plan = model.plan
    if plan is None and not model.corrections:
        return Expansion(dict(template), warnings, (), 0)
    new_resources = dict(template[cfn.RESOURCES])
    # Every rewrite of a resource is applied in one copy of it: a rewrite at a time copied a list of
    # 10,000 launch specifications once per specification.
    rewrites: dict[str, list[tuple[Path, Callable[[Any], Any]]]] = {}
    for correction in model.corrections:
        rewrites.setdefault(correction.logical_id, []).append((correction.path, _constant(correction.value)))
    if plan is not None:
        ids_by_options: dict[str, dict[str, str]] = {}
        for profile in plan.profiles:
            ids_by_options.setdefault(profile.options.key, {})[profile.role.key] = profile.logical_id
        for use in plan.uses:
            # A use whose every branch is AWS::NoValue has no profile of its own.
            form = use.site.form_named(use.options.form) or use.site.writes
            value = _render_choice(use.choice, form, ids_by_options.get(use.options.key, {}))
            rewrites.setdefault(use.logical_id, []).append((use.container, _writer(use, value)))
    for logical_id, at in rewrites.items():
        new_resources[logical_id] = _replace_each(new_resources[logical_id], at)
    if plan is None:
        result = dict(template)
        result[cfn.RESOURCES] = new_resources
        return Expansion(result, warnings, (), 0)
    for logical_id, policies in plan.depends_on.items():
        new_resources[logical_id] = _with_depends_on(new_resources[logical_id], policies)
    new_conditions: dict[str, Any] = {}
    generated_profiles = sorted(plan.profiles, key=lambda p: p.logical_id)
    generated_roles = sorted(plan.roles, key=lambda r: r.logical_id)
    for inline in generated_roles:
        new_resources[inline.logical_id] = _generated_resource(
            cfn.IAM_ROLE_TYPE, inline, inline.properties, new_conditions
        )
    for profile in generated_profiles:
        new_resources[profile.logical_id] = _generated_resource(
            cfn.INSTANCE_PROFILE_TYPE, profile, _profile_properties(profile), new_conditions
        )
    result = _with_conditions(template, new_conditions)
    result[cfn.RESOURCES] = new_resources
    return Expansion(
        template=result,
        warnings=warnings,
        profiles_created=tuple(p.logical_id for p in generated_profiles),
        sites_rewritten=len(plan.uses),
        roles_created=tuple(r.logical_id for r in generated_roles),
    )


def _constant(value: Any) -> Callable[[Any], Any]:
    """A rewrite that puts `value` in place of what is there (a correction of a hand-written value)."""
    return lambda _: value


def _profile_properties(profile: Profile) -> dict[str, Any]:
    properties: dict[str, Any] = {cfn.ROLES: [profile.roles_entry]}
    if profile.options.path is not None:
        properties["Path"] = profile.options.path
    if profile.options.name is not None:
        properties[cfn.INSTANCE_PROFILE_NAME] = profile.options.name
    elif profile.options.name_prefix is not None:
        # The digest covers the options too: two profiles of one role must not share a name.
        name_digest = digest(f"{profile.role.key}|{profile.options.key}")
        properties[cfn.INSTANCE_PROFILE_NAME] = stack_unique_name(profile.options.name_prefix, name_digest)
    return properties


def _generated_resource(
    kind: str, generated: InlineRole | Profile, properties: dict[str, Any], new_conditions: dict[str, Any]
) -> dict[str, Any]:
    resource: dict[str, Any] = {cfn.TYPE: kind}
    plan = generated.condition
    if plan.existing:
        resource[cfn.CONDITION] = plan.existing
    elif plan.expression is not None:
        resource[cfn.CONDITION] = f"{generated.logical_id}Condition"
        new_conditions[resource[cfn.CONDITION]] = plan.expression
    resource[cfn.PROPERTIES] = properties
    resource[cfn.METADATA] = {cfn.METADATA_KEY: {"GeneratedFor": list(generated.users)}}
    return resource


def _render_choice(choice: RoleChoice, form: ProfileForm, ids: Mapping[str, str]) -> Any:
    if isinstance(choice, IfChoice):
        return {
            cfn.FN_IF: [
                choice.condition,
                _render_choice(choice.when_true, form, ids),
                _render_choice(choice.when_false, form, ids),
            ]
        }
    if isinstance(choice, NoValue):
        return {cfn.REF: cfn.NO_VALUE}
    return form.reference(ids[choice.role.key])


def _writer(use: Use, value: Any) -> Callable[[Any], Any]:
    """How to rewrite the use's container: in place of the key, keeping key order. A partial of a module
    function, not a closure: one is made for every site, and a closure costs several times as much."""
    if use.site.kind is SiteKind.OPTION_SETTING:
        return partial(_write_option, use.site.profile_property, value)
    return partial(_write_property, use.key, use.site.profile_property, value)


def _write_option(option: str, value: Any, entry: Mapping[str, Any]) -> dict[str, Any]:
    rewritten = dict(entry)
    rewritten["OptionName"] = option
    rewritten["Value"] = value
    return rewritten


def _write_property(key: str, new_key: str, value: Any, container: Mapping[str, Any]) -> dict[str, Any]:
    return {
        (new_key if written == key else written): (value if written == key else old)
        for written, old in container.items()
    }


# The key of a _Trie level holding the rewrites at that level's path (no step of a path is None).
_HERE: Final = None
_Trie = dict[Any, Any]


def _replace_each(node: Any, rewrites: list[tuple[Path, Callable[[Any], Any]]]) -> Any:
    """A copy of node with each rewrite applied at its path, in order; each container on the paths is
    copied once however many rewrites lie below it."""
    if len(rewrites) == 1:
        # Most resources have one site: copy down its path, with no trie to build and walk.
        ((path, rewrite),) = rewrites
        return _replace_at(node, path, rewrite)
    trie: _Trie = {}
    for path, rewrite in rewrites:
        level = trie
        for step in path:
            level = level.setdefault(step, {})
        level.setdefault(_HERE, []).append(rewrite)
    return _apply(node, trie)


def _replace_at(node: Any, path: Path, rewrite: Callable[[Any], Any]) -> Any:
    """A copy of node with one rewrite applied at `path`: each container on the path copied once."""
    if not path:
        return rewrite(node)
    root: Any = list(node) if isinstance(node, list) else dict(node)
    parent = root
    for step in path[:-1]:
        child = parent[step]
        copied: Any = list(child) if isinstance(child, list) else dict(child)
        parent[step] = copied
        parent = copied
    parent[path[-1]] = rewrite(parent[path[-1]])
    return root


def _apply(node: Any, trie: _Trie) -> Any:
    """Rewrites below first, then those here (which keep what they do not replace: a container's own
    rewrite renames one key and keeps the values below it)."""
    steps = [step for step in trie if step is not _HERE]
    if steps:
        copied: Any = list(node) if isinstance(node, list) else dict(node)
        for step in steps:
            copied[step] = _apply(node[step], trie[step])
        node = copied
    for rewrite in trie.get(_HERE, ()):
        node = rewrite(node)
    return node


def _with_depends_on(resource: Mapping[str, Any], policies: list[str]) -> dict[str, Any]:
    """DependsOn merged with the policies (no duplicates); a new DependsOn goes right after Type/Condition."""
    current = depends_on_list(resource) or []
    merged = current + [policy for policy in policies if policy not in current]
    # Keep the author's spelling: a list stays a list; a single new dependency is written as a string.
    value: Any = (
        merged[0] if len(merged) == 1 and not isinstance(resource.get(cfn.DEPENDS_ON), list) else merged
    )
    if cfn.DEPENDS_ON in resource:
        return {key: (value if key == cfn.DEPENDS_ON else old) for key, old in resource.items()}
    result: dict[str, Any] = {}
    for key, old in resource.items():
        if key not in (cfn.TYPE, cfn.CONDITION) and cfn.DEPENDS_ON not in result:
            result[cfn.DEPENDS_ON] = value
        result[key] = old
    result.setdefault(cfn.DEPENDS_ON, value)
    return result


def _with_conditions(template: Mapping[str, Any], new_conditions: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of the template with the new conditions appended (section created before Resources)."""
    if not new_conditions:
        return dict(template)
    existing = template.get(cfn.CONDITIONS)
    merged = {**(existing if isinstance(existing, Mapping) else {}), **new_conditions}
    if cfn.CONDITIONS in template:
        return {key: (merged if key == cfn.CONDITIONS else value) for key, value in template.items()}
    result: dict[str, Any] = {}
    for key, value in template.items():
        if key == cfn.RESOURCES:
            result[cfn.CONDITIONS] = merged
        result[key] = value
    return result
