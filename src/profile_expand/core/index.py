"""The one pass over a template: everything later steps ask about it, read once into a TemplateIndex.

Read by roles.py (types, names, conditions, role IDs for "did you mean"), core.py (limits and sections,
collect: the resources with sites, readiness: policies by role, check: taken IDs and condition names),
mistakes.judge (profiles' Roles, roles' properties); the guard judges one resource with model.site_values.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.conditions import named, negated
from profile_expand.core.sites import Site, sites_for
from profile_expand.core.text import Path

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
_POLICY_TYPES: Final = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_ROLE_POLICY_TYPE: Final = "AWS::IAM::RolePolicy"

# A resource with sites: (logical ID, the resource, its sites in table order). A plain tuple: one fewer
# class to build at cold start.
Sited = tuple[str, Mapping[str, Any], tuple[Site, ...]]
# An entry of a profile's Roles: (path below the profile resource, value), each Fn::If branch on its own.
RoleEntry = tuple[Path, object]


class TemplateIndex(NamedTuple):
    """What the core's steps need to know about the template, read in one pass (index_template)."""

    resource_types: Mapping[str, str]
    resource_conditions: Mapping[str, str]
    parameter_types: Mapping[str, str]
    # The template's condition names, each with the terms of its Fn::If branches (conditions.named,
    # conditions.negated): written once per condition, not at every Fn::If.
    condition_terms: Mapping[str, tuple[str, str]]
    taken_ids: frozenset[str]  # every logical ID of Resources and Parameters: generated IDs must avoid them
    # Literal names: a role's RoleName -> its logical ID; an instance profile's InstanceProfileName -> its
    # logical ID. A literal name at a site is judged against them (a role's name where a profile belongs).
    role_names: Mapping[str, str] = _EMPTY
    profile_names: Mapping[str, str] = _EMPTY
    profile_names_open: bool = False  # some profile of the template is named by an intrinsic
    # A profile named after another resource (`InstanceProfileName: !Ref InstanceRole`, CDK's and the
    # console's habit): that resource's logical ID -> the profile's. Its Ref is the profile's name too.
    profile_names_by_ref: Mapping[str, str] = _EMPTY
    role_ids: tuple[str, ...] = ()  # the template's AWS::IAM::Role logical IDs, sorted
    folded_role_ids: Mapping[str, str] = _EMPTY  # lower-cased role ID -> the first role ID spelled so
    # The role IDs reversed, sorted: with role_ids, the neighbours of a typo by prefix and by suffix.
    reversed_role_ids: tuple[str, ...] = ()
    sited: tuple[Sited, ...] = ()  # resources with sites, in template order
    resources: Mapping[str, Any] = _EMPTY  # the Resources section, for looking one resource up
    role_properties: Mapping[str, Mapping[str, Any]] = _EMPTY  # role logical ID -> its Properties
    profile_roles: Mapping[str, tuple[RoleEntry, ...]] = _EMPTY  # profile logical ID -> its Roles entries
    policies_by_role: Mapping[str, tuple[str, ...]] = _EMPTY  # role ID -> policies attached (template order)
    # Logical IDs the macro generates (its plan): what a site may name before they exist. Set by
    # with_generated(); mistakes are judged against the template as it will be.
    generated: frozenset[str] = frozenset()
    long_ids: tuple[str, ...] = ()  # logical IDs longer than CloudFormation's 255 characters
    # Resources whose Condition is no condition of the template: (logical ID, the value written).
    undefined_conditions: tuple[tuple[str, object], ...] = ()
    # Fn::ForEach loops as written (AWS::LanguageExtensions has not run): (key, [identifier, collection,
    # resources]). The macro sees them only when listed before that transform, and cannot expand them.
    loops: tuple[tuple[str, list[Any]], ...] = ()

    def named_profile(self, value: object) -> str | None:
        """The template profile whose name `value` is: a profile's literal name, `Ref` of what a profile
        is named after, or the literal RoleName of a role a profile is named after; None otherwise."""
        if isinstance(value, str):
            profile = self.profile_names.get(value)
            if profile is None and value in self.role_names:
                profile = self.profile_names_by_ref.get(self.role_names[value])
            return profile
        if type(value) is dict and len(value) == 1 and isinstance(value.get(cfn.REF), str):
            return self.profile_names_by_ref.get(value[cfn.REF])
        return None

    def with_generated(self, types: Mapping[str, str]) -> "TemplateIndex":
        """The index of the template as the macro will leave it: generated ID -> resource type added."""
        new = {lid: kind for lid, kind in types.items() if lid not in self.resource_types}
        if not new:
            return self
        return self._replace(resource_types={**self.resource_types, **new}, generated=frozenset(new))


def index_template(template: Mapping[str, Any], resources: Mapping[str, Any]) -> TemplateIndex:
    """Read the template's resources, conditions and parameters once."""
    resource_types: dict[str, str] = {}
    resource_conditions: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {cfn.IAM_ROLE_TYPE: {}, cfn.INSTANCE_PROFILE_TYPE: {}}
    names_open = False
    names_by_ref: dict[str, str] = {}
    sited: list[Sited] = []
    role_properties: dict[str, Mapping[str, Any]] = {}
    profile_roles: dict[str, tuple[RoleEntry, ...]] = {}
    policies: dict[str, list[str]] = {}
    taken: list[Any] = []
    written_conditions: list[tuple[str, object]] = []
    long_ids: list[str] = []
    loops: list[tuple[str, list[Any]]] = []
    for logical_id, resource in resources.items():
        taken.append(logical_id)
        if isinstance(logical_id, str) and len(logical_id) > cfn.MAX_LOGICAL_ID:
            long_ids.append(logical_id)
        if (
            isinstance(logical_id, str)
            and logical_id.startswith(cfn.FOR_EACH_PREFIX)
            and isinstance(resource, list)
        ):
            loops.append((logical_id, resource))
        # type() first: the Mapping ABC's check is slow, and a resource is nearly always a plain dict.
        if not (isinstance(logical_id, str) and (type(resource) is dict or isinstance(resource, Mapping))):
            continue
        kind, condition = resource.get(cfn.TYPE), resource.get(cfn.CONDITION)
        if isinstance(condition, str):
            resource_conditions[logical_id] = condition
        if condition is not None:
            written_conditions.append((logical_id, condition))
        if not isinstance(kind, str):
            continue
        resource_types[logical_id] = kind
        properties = resource.get(cfn.PROPERTIES)
        properties = properties if type(properties) is dict or isinstance(properties, Mapping) else _EMPTY
        sites = sites_for(kind)
        if sites:
            sited.append((logical_id, resource, sites))
        if kind in names:
            key = cfn.ROLE_NAME if kind == cfn.IAM_ROLE_TYPE else cfn.INSTANCE_PROFILE_NAME
            name = properties.get(key)
            if isinstance(name, str):
                names[kind].setdefault(name, logical_id)
            elif name is not None and kind == cfn.INSTANCE_PROFILE_TYPE:
                names_open = True
                target = name.get(cfn.REF) if type(name) is dict and len(name) == 1 else None
                if isinstance(target, str):
                    names_by_ref.setdefault(target, logical_id)
        if kind == cfn.IAM_ROLE_TYPE:
            role_properties[logical_id] = properties
        elif kind == cfn.INSTANCE_PROFILE_TYPE:
            profile_roles[logical_id] = tuple(_role_entries(properties))
        elif kind in _POLICY_TYPES or kind == _ROLE_POLICY_TYPE:
            for role in _policy_targets(kind, properties):
                policies.setdefault(role, []).append(logical_id)
    conditions = template.get(cfn.CONDITIONS)
    parameter_types = {name: _parameter_type(p) for name, p in _entries(template.get(cfn.PARAMETERS))}
    condition_names = (
        frozenset(name for name in conditions if isinstance(name, str))
        if isinstance(conditions, Mapping)
        else frozenset()
    )
    role_ids = tuple(sorted(role_properties))
    folded: dict[str, str] = {}
    for role_id in role_ids:
        folded.setdefault(role_id.lower(), role_id)
    return TemplateIndex(
        resource_types=resource_types,
        resource_conditions=resource_conditions,
        parameter_types=parameter_types,
        condition_terms={name: (named(name), negated(name)) for name in condition_names},
        taken_ids=frozenset(taken) | frozenset(parameter_types),
        role_names=names[cfn.IAM_ROLE_TYPE],
        profile_names=names[cfn.INSTANCE_PROFILE_TYPE],
        profile_names_open=names_open,
        profile_names_by_ref=names_by_ref,
        role_ids=role_ids,
        folded_role_ids=folded,
        reversed_role_ids=tuple(sorted(role_id[::-1] for role_id in role_ids)),
        sited=tuple(sited),
        resources=resources,
        role_properties=role_properties,
        profile_roles=profile_roles,
        policies_by_role={role: tuple(ids) for role, ids in policies.items()},
        long_ids=tuple(long_ids),
        undefined_conditions=tuple(
            (logical_id, condition)
            for logical_id, condition in written_conditions
            if not (isinstance(condition, str) and condition in condition_names)
        ),
        loops=tuple(loops),
    )


def _entries(section: object) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(section, Mapping):
        return []
    return [
        (key, value) for key, value in section.items() if isinstance(key, str) and isinstance(value, Mapping)
    ]


def _parameter_type(parameter: Mapping[str, Any]) -> str:
    kind = parameter.get(cfn.TYPE)
    return kind if isinstance(kind, str) else "String"


def _role_entries(properties: Mapping[str, Any]) -> Iterator[RoleEntry]:
    """(path below the profile, value) of each entry of its Roles, both branches of an Fn::If."""
    roles = properties.get(cfn.ROLES)
    if isinstance(roles, list):
        for position, entry in enumerate(roles):
            yield from branches((cfn.PROPERTIES, cfn.ROLES, position), entry)


def branches(path: Path, value: object) -> Iterator[tuple[Path, object]]:
    """(path, value) of each value a deployment may see: both branches of every Fn::If, in order."""
    # Iterative, and at most cfn.MAX_IF_DEPTH deep (a deeper Fn::If is yielded as it is): an Fn::If
    # nested thousands deep must not exhaust the stack here or where the path is rewritten.
    pending = [(path, value)]
    while pending:
        here, node = pending.pop()
        if cfn.is_fn_if(node) and here.count(cfn.FN_IF) < cfn.MAX_IF_DEPTH:
            assert isinstance(node, dict)
            pending.append(((*here, cfn.FN_IF, 2), node[cfn.FN_IF][2]))
            pending.append(((*here, cfn.FN_IF, 1), node[cfn.FN_IF][1]))
        else:
            yield here, node


def _policy_targets(kind: str, properties: Mapping[str, Any]) -> Iterator[str]:
    """The template roles a policy resource attaches to (by Ref), or nothing for other types."""
    if kind in _POLICY_TYPES and isinstance(properties.get(cfn.ROLES), list):
        targets = properties[cfn.ROLES]
    elif kind == _ROLE_POLICY_TYPE:
        targets = [properties.get(cfn.ROLE_NAME)]
    else:
        return
    for target in targets:
        if isinstance(target, Mapping) and isinstance(target.get(cfn.REF), str) and len(target) == 1:
            yield target[cfn.REF]


# The index of no template: for judging one resource on its own (the guard).
EMPTY_INDEX: Final = index_template({}, {})
