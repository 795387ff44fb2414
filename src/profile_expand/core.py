"""The pure transform: expand(template) -> template. No AWS, no I/O, nothing done at import time.

Three passes: find every site that uses a role (collect), decide one profile per role (plan), then
write the references and the generated resources (render). Problems are collected across all passes
and raised once, sorted by logical ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from profile_expand import cfn
from profile_expand.conditions import ConditionPlan, Requirement, named, negated, plan_condition
from profile_expand.errors import InvalidTemplateError, TemplateError
from profile_expand.roles import (
    IfChoice,
    NoValue,
    Path,
    RoleChoice,
    RoleParser,
    RoleRef,
    TemplateIndex,
    UseRole,
    quote,
    template_role_in,
)
from profile_expand.sites import EACH, ProfileForm, Site, SiteKind, sites_for

_MAX_LOGICAL_ID = 255


@dataclass(frozen=True)
class TemplateWarning:
    """Something the expansion did or saw that the author should know; it does not stop the expansion."""

    logical_id: str
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return str(TemplateError(self.logical_id, self.path, self.message))


@dataclass(frozen=True)
class Expansion:
    """The expanded template and what was done to it."""

    template: dict[str, Any]
    warnings: tuple[TemplateWarning, ...]
    profiles_created: tuple[str, ...]
    sites_rewritten: int


@dataclass(frozen=True)
class _SiteUse:
    """One site that takes its profile from a role choice."""

    logical_id: str
    site: Site
    container_path: Path  # below the resource, to the mapping (or option-settings entry) to rewrite
    key: str  # the key holding the role today (IamRole, or the profile property itself when corrected)
    choice: RoleChoice
    requirement: Requirement  # the resource's own Condition, as terms


@dataclass
class _Profile:
    """One instance profile the template will use for one role (and one naming rule)."""

    role: RoleRef
    name_prefix: str | None
    requirements: set[Requirement] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    logical_id: str = ""
    existing: bool = False
    condition: ConditionPlan = field(default_factory=ConditionPlan)


def expand(template: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new template in which every `IamRole` shorthand points at an instance profile.

    The input is never modified; unchanged parts of it may be shared with the result.

    >>> template = {"Resources": {
    ...     "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    ...     "Web": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": {"Ref": "AppRole"}}}}}
    >>> result = expand(template)
    >>> result["Resources"]["Web"]["Properties"]
    {'IamInstanceProfile': {'Ref': 'AppRoleInstanceProfile'}}
    >>> result["Resources"]["AppRoleInstanceProfile"]["Properties"]
    {'Roles': [{'Ref': 'AppRole'}]}
    """
    return expand_with_report(template).template


def expand_with_report(template: Mapping[str, Any]) -> Expansion:
    """Like expand(), and also say what was done: warnings, profiles created, sites rewritten.

    Raises InvalidTemplateError listing every problem when the template cannot be expanded.
    """
    return _Expander(template).run()


class _Expander:
    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.errors: list[TemplateError] = []
        self.warnings: list[TemplateWarning] = []

    def _fail(self, message: str) -> InvalidTemplateError:
        return InvalidTemplateError([TemplateError("", (), message)])

    def run(self) -> Expansion:
        template = self.template
        if not isinstance(template, Mapping):
            raise self._fail(f"the fragment must be a template (a JSON object), not {quote(template)}.")
        resources = template.get(cfn.RESOURCES)
        if cfn.RESOURCES not in template:
            raise self._fail(
                "the fragment has no Resources section. ProfileExpand is a template-level macro: write "
                "`Transform: ProfileExpand` at the top of the template, not `Fn::Transform` inside a "
                "resource's Properties (a snippet cannot add the instance profile resources)."
            )
        if not isinstance(resources, Mapping):
            raise self._fail(
                f"Resources must be a mapping of logical IDs to resources, not {quote(resources)}."
            )
        index = _index(template, resources)
        parser = RoleParser(index, self.errors)
        uses = [
            use
            for logical_id, resource in resources.items()
            for use in self._collect(logical_id, resource, parser)
        ]
        if not uses:
            if self.errors:
                raise InvalidTemplateError(self.errors)
            return Expansion(dict(template), tuple(self.warnings), (), 0)
        profiles = self._plan(uses, resources, template, index)
        if self.errors:
            raise InvalidTemplateError(self.errors)
        return self._render(uses, profiles, template, resources)

    # -- collect -----------------------------------------------------------------------------------

    def _collect(self, logical_id: object, resource: object, parser: RoleParser) -> Iterator[_SiteUse]:
        if not (isinstance(logical_id, str) and isinstance(resource, Mapping)):
            return
        sites = sites_for(resource.get(cfn.TYPE))  # type: ignore[arg-type]  # non-str types match nothing
        if not sites:
            return
        condition = resource.get(cfn.CONDITION)
        requirement: Requirement = frozenset({named(condition)} if isinstance(condition, str) else ())
        for site in sites:
            for path, container in _containers(resource, site.container):
                if site.kind is SiteKind.OPTION_SETTING:
                    yield from self._collect_option_settings(
                        logical_id, site, path, container, parser, requirement
                    )
                elif isinstance(container, Mapping):
                    use = self._collect_property(logical_id, site, path, container, parser, requirement)
                    if use:
                        yield use
        self._check_misplaced(logical_id, resource, sites)

    def _collect_property(
        self,
        logical_id: str,
        site: Site,
        path: Path,
        container: Mapping[str, Any],
        parser: RoleParser,
        requirement: Requirement,
    ) -> _SiteUse | None:
        shorthand = cfn.IAM_ROLE_SHORTHAND
        if shorthand in container:
            if site.profile_property in container:
                self.errors.append(
                    TemplateError(
                        logical_id,
                        (*path, shorthand),
                        f"both {shorthand} and {site.profile_property} are set; keep one "
                        f"({shorthand} generates the instance profile that {site.profile_property} would name).",
                    )
                )
                return None
            choice = parser.parse(container[shorthand], logical_id, (*path, shorthand))
            return _SiteUse(logical_id, site, path, shorthand, choice, requirement) if choice else None
        if site.profile_property in container:
            return self._correct_mistake(
                logical_id,
                site,
                path,
                site.profile_property,
                container[site.profile_property],
                parser,
                requirement,
            )
        return None

    def _collect_option_settings(
        self,
        logical_id: str,
        site: Site,
        path: Path,
        settings: object,
        parser: RoleParser,
        requirement: Requirement,
    ) -> Iterator[_SiteUse]:
        if not isinstance(settings, list):
            return
        entries = [
            (position, entry)
            for position, entry in enumerate(settings)
            if isinstance(entry, Mapping) and entry.get("Namespace") == site.option_namespace
        ]
        names = [entry.get("OptionName") for _, entry in entries]
        for position, entry in entries:
            entry_path = (*path, position)
            if entry.get("OptionName") == cfn.IAM_ROLE_SHORTHAND:
                if site.profile_property in names:
                    self.errors.append(
                        TemplateError(
                            logical_id,
                            (*entry_path, "OptionName"),
                            f"both {cfn.IAM_ROLE_SHORTHAND} and {site.profile_property} options are set in "
                            f"namespace {site.option_namespace}; keep one.",
                        )
                    )
                    continue
                choice = parser.parse(entry.get("Value"), logical_id, (*entry_path, "Value"))
                if choice:
                    yield _SiteUse(logical_id, site, entry_path, "Value", choice, requirement)
            elif entry.get("OptionName") == site.profile_property:
                use = self._correct_mistake(
                    logical_id, site, entry_path, "Value", entry.get("Value"), parser, requirement
                )
                if use:
                    yield use

    def _correct_mistake(
        self,
        logical_id: str,
        site: Site,
        path: Path,
        key: str,
        value: object,
        parser: RoleParser,
        requirement: Requirement,
    ) -> _SiteUse | None:
        """The classic mistake: a role where the profile belongs. Under this Transform, fix it."""
        inner = value
        if site.writes in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT) and isinstance(value, Mapping):
            found = [value[part] for part in ("Arn", "Name") if part in value]
            inner = found[0] if len(found) == 1 else None
        role_id = template_role_in(inner, parser.index)
        if role_id is None:
            return None
        self.warnings.append(
            TemplateWarning(
                logical_id,
                (*path, key),
                f"{quote(value)} points at role {role_id}, but {site.profile_property} takes an instance "
                f"profile; ProfileExpand treated it as `{cfn.IAM_ROLE_SHORTHAND}: !Ref {role_id}`. "
                f"Write {cfn.IAM_ROLE_SHORTHAND} to make this explicit.",
            )
        )
        choice = parser.parse(cfn.ref(role_id), logical_id, (*path, key))
        return _SiteUse(logical_id, site, path, key, choice, requirement) if choice else None

    def _check_misplaced(self, logical_id: str, resource: Mapping[str, Any], sites: tuple[Site, ...]) -> None:
        """IamRole written directly in Properties of a type whose site is deeper: say where it goes."""
        properties = resource.get(cfn.PROPERTIES)
        if not isinstance(properties, Mapping) or cfn.IAM_ROLE_SHORTHAND not in properties:
            return
        if any(site.container == (cfn.PROPERTIES,) for site in sites):
            return
        where = " or ".join(site.property_path.rsplit(".", 1)[0] for site in sites)
        self.errors.append(
            TemplateError(
                logical_id,
                (cfn.PROPERTIES, cfn.IAM_ROLE_SHORTHAND),
                f"{resource.get(cfn.TYPE)} takes {cfn.IAM_ROLE_SHORTHAND} inside {where}, "
                "where its instance profile property is; move it there.",
            )
        )

    # -- plan --------------------------------------------------------------------------------------

    def _plan(
        self,
        uses: list[_SiteUse],
        resources: Mapping[str, Any],
        template: Mapping[str, Any],
        index: TemplateIndex,
    ) -> dict[tuple[str, str | None], _Profile]:
        profiles: dict[tuple[str, str | None], _Profile] = {}
        for use in uses:
            prefix = use.site.profile_name_prefix
            for role, requirement in _roles_of(use.choice, use.requirement):
                profile = profiles.setdefault((role.key, prefix), _Profile(role, prefix))
                if role.condition:
                    requirement = requirement | {named(role.condition)}
                profile.requirements.add(requirement)
                profile.users.add(use.logical_id)
                self._check_role_for_prefix(use, role, resources)

        existing = _existing_profiles(resources, index)
        conditions = template.get(cfn.CONDITIONS)
        condition_names = set(conditions) if isinstance(conditions, Mapping) else set()
        taken = set(resources) | set(index.parameter_types)
        for profile in sorted(profiles.values(), key=lambda p: (p.role.key, p.name_prefix or "")):
            profile.condition = plan_condition(profile.requirements)
            reusable = self._reusable(profile, existing.get(profile.role.key, []), resources)
            if reusable:
                profile.logical_id, profile.existing = reusable, True
                continue
            profile.logical_id = _generated_id(profile)
            first_user = min(profile.users)
            problem = None
            if len(profile.logical_id) > _MAX_LOGICAL_ID:
                problem = f"is longer than CloudFormation's {_MAX_LOGICAL_ID} characters; shorten the role's logical ID"
            elif profile.logical_id in taken:
                other = resources.get(profile.logical_id)
                owner = f"a resource of type {other.get(cfn.TYPE)}" if isinstance(other, Mapping) else "taken"
                problem = f"is already {owner} in this template; rename that resource"
            if problem:
                self.errors.append(
                    TemplateError(
                        first_user,
                        (),
                        f"the instance profile for role {quote(profile.role.roles_entry)} would get the logical ID "
                        f"{profile.logical_id}, which {problem}, or write the instance profile yourself.",
                    )
                )
            taken.add(profile.logical_id)
            if profile.condition.expression is not None:
                name = f"{profile.logical_id}Condition"
                if name in condition_names:
                    self.errors.append(
                        TemplateError(
                            first_user,
                            (),
                            f"the condition for generated profile {profile.logical_id} would be named {name}, "
                            "which Conditions already defines; rename that condition.",
                        )
                    )
                condition_names.add(name)
        count = len(resources) + sum(1 for profile in profiles.values() if not profile.existing)
        if count > cfn.MAX_RESOURCES:
            self.errors.append(
                TemplateError(
                    "",
                    (),
                    f"the expanded template would have {count} resources, more than CloudFormation's limit of "
                    f"{cfn.MAX_RESOURCES}; split the template into nested stacks (each with its own "
                    "`Transform: ProfileExpand`) or share roles between resources.",
                )
            )
        return profiles

    def _reusable(self, profile: _Profile, candidates: list[str], resources: Mapping[str, Any]) -> str | None:
        """An existing AWS::IAM::InstanceProfile that already holds exactly this role and fits every use."""
        for candidate in candidates:
            resource = resources[candidate]
            condition = resource.get(cfn.CONDITION)
            # A conditional profile serves only uses that all require its condition.
            if condition is not None and not all(named(condition) in need for need in profile.requirements):
                continue
            if profile.name_prefix:
                name = resource.get(cfn.PROPERTIES, {}).get(cfn.INSTANCE_PROFILE_NAME)
                if not (isinstance(name, str) and name.startswith(profile.name_prefix)):
                    continue
            return candidate
        return None

    def _check_role_for_prefix(self, use: _SiteUse, role: RoleRef, resources: Mapping[str, Any]) -> None:
        """RDS Custom: the role's name must start with the prefix too; say so when it cannot."""
        prefix = use.site.profile_name_prefix
        if not prefix:
            return
        where = (*use.container_path, use.key)
        role_name: object = role.roles_entry if role.key.startswith("name:") else None
        if role.template_role:
            properties = resources[role.template_role].get(cfn.PROPERTIES)
            role_name = properties.get(cfn.ROLE_NAME) if isinstance(properties, Mapping) else None
            if role_name is None:
                self.warnings.append(
                    TemplateWarning(
                        use.logical_id,
                        where,
                        f"{use.site.resource_type} needs a role whose name starts with {prefix}; "
                        f"role {role.template_role} has no RoleName, so its generated name will not. "
                        f"Set RoleName: {prefix}-... (and deploy with CAPABILITY_NAMED_IAM).",
                    )
                )
        if isinstance(role_name, str) and not role_name.startswith(prefix):
            self.errors.append(
                TemplateError(
                    use.logical_id,
                    where,
                    f"{use.site.resource_type} needs a role whose name starts with {prefix}, "
                    f"but the role is named {quote(role_name)}; rename the role.",
                )
            )

    # -- render ------------------------------------------------------------------------------------

    def _render(
        self,
        uses: list[_SiteUse],
        profiles: dict[tuple[str, str | None], _Profile],
        template: Mapping[str, Any],
        resources: Mapping[str, Any],
    ) -> Expansion:
        new_resources = dict(resources)
        for use in uses:
            ids = {
                role_key: p.logical_id
                for (role_key, prefix), p in profiles.items()
                if prefix == use.site.profile_name_prefix
            }
            value = _render_choice(use.choice, use.site.writes, ids)
            new_resources[use.logical_id] = _replace_at(
                new_resources[use.logical_id], use.container_path, _writer(use, value)
            )
        generated = sorted((p for p in profiles.values() if not p.existing), key=lambda p: p.logical_id)
        new_conditions: dict[str, Any] = {}
        for profile in generated:
            resource: dict[str, Any] = {cfn.TYPE: cfn.INSTANCE_PROFILE_TYPE}
            plan = profile.condition
            if plan.existing:
                resource[cfn.CONDITION] = plan.existing
            elif plan.expression is not None:
                resource[cfn.CONDITION] = f"{profile.logical_id}Condition"
                new_conditions[resource[cfn.CONDITION]] = plan.expression
            resource[cfn.PROPERTIES] = _profile_properties(profile)
            resource[cfn.METADATA] = {cfn.METADATA_KEY: {"GeneratedFor": sorted(profile.users)}}
            new_resources[profile.logical_id] = resource
        result = _with_conditions(template, new_conditions)
        result[cfn.RESOURCES] = new_resources
        return Expansion(
            template=result,
            warnings=tuple(sorted(self.warnings, key=lambda w: (w.logical_id, str(w.path), w.message))),
            profiles_created=tuple(p.logical_id for p in generated),
            sites_rewritten=len(uses),
        )


def _index(template: Mapping[str, Any], resources: Mapping[str, Any]) -> TemplateIndex:
    def entries(section: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
        if isinstance(section, Mapping):
            for key, value in section.items():
                if isinstance(key, str) and isinstance(value, Mapping):
                    yield key, value

    resource_types = {lid: r.get(cfn.TYPE) for lid, r in entries(resources)}
    conditions = template.get(cfn.CONDITIONS)
    return TemplateIndex(
        resource_types={lid: kind for lid, kind in resource_types.items() if isinstance(kind, str)},
        resource_conditions={
            lid: r[cfn.CONDITION] for lid, r in entries(resources) if isinstance(r.get(cfn.CONDITION), str)
        },
        parameter_types={name: _parameter_type(p) for name, p in entries(template.get(cfn.PARAMETERS))},
        condition_names=frozenset(name for name in conditions if isinstance(name, str))
        if isinstance(conditions, Mapping)
        else frozenset(),
    )


def _parameter_type(parameter: Mapping[str, Any]) -> str:
    kind = parameter.get(cfn.TYPE)
    return kind if isinstance(kind, str) else "String"


def _containers(node: object, steps: tuple[str, ...], path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) reached by following the site's container steps (EACH = every list item)."""
    if not steps:
        yield path, node
        return
    step, rest = steps[0], steps[1:]
    if step == EACH:
        if isinstance(node, list):
            for position, item in enumerate(node):
                yield from _containers(item, rest, (*path, position))
    elif isinstance(node, Mapping) and step in node:
        yield from _containers(node[step], rest, (*path, step))


def _roles_of(choice: RoleChoice, requirement: Requirement) -> Iterator[tuple[RoleRef, Requirement]]:
    """Each role a choice may use, with the condition terms under which it is used."""
    if isinstance(choice, UseRole):
        yield choice.role, requirement
    elif isinstance(choice, IfChoice):
        yield from _roles_of(choice.when_true, requirement | {named(choice.condition)})
        yield from _roles_of(choice.when_false, requirement | {negated(choice.condition)})


def _existing_profiles(resources: Mapping[str, Any], index: TemplateIndex) -> dict[str, list[str]]:
    """Role key -> logical IDs of the template's own instance profiles holding exactly that one role."""
    found: dict[str, list[str]] = {}
    quiet = RoleParser(index, [])
    for logical_id in sorted(
        lid for lid, kind in index.resource_types.items() if kind == cfn.INSTANCE_PROFILE_TYPE
    ):
        properties = resources[logical_id].get(cfn.PROPERTIES)
        roles = properties.get(cfn.ROLES) if isinstance(properties, Mapping) else None
        if not (isinstance(roles, list) and len(roles) == 1):
            continue
        choice = quiet.parse(roles[0], logical_id, ())
        if isinstance(choice, UseRole):
            found.setdefault(choice.role.key, []).append(logical_id)
    return found


def _generated_id(profile: _Profile) -> str:
    role = profile.role
    prefix = profile.name_prefix or ""
    if role.exact_stem:
        return f"{role.stem}{prefix}InstanceProfile"
    # Names and expressions are not logical IDs: a digest of the role keeps two of them apart.
    return f"{role.stem}{prefix}InstanceProfile{role.digest}"


def _profile_properties(profile: _Profile) -> dict[str, Any]:
    properties: dict[str, Any] = {cfn.ROLES: [profile.role.roles_entry]}
    if profile.name_prefix:
        # Unique per stack and region (the stack ID's UUID) and per role (the digest); 58 characters.
        stack_uuid = {cfn.FN_SELECT: [2, {cfn.FN_SPLIT: ["/", cfn.ref(cfn.STACK_ID)]}]}
        properties[cfn.INSTANCE_PROFILE_NAME] = {
            cfn.FN_JOIN: ["-", [profile.name_prefix, stack_uuid, profile.role.digest]]
        }
    return properties


def _render_choice(choice: RoleChoice, form: ProfileForm, ids: Mapping[str, str]) -> Any:
    if isinstance(choice, NoValue):
        return cfn.ref(cfn.NO_VALUE)
    if isinstance(choice, IfChoice):
        return {
            cfn.FN_IF: [
                choice.condition,
                _render_choice(choice.when_true, form, ids),
                _render_choice(choice.when_false, form, ids),
            ]
        }
    profile_id = ids[choice.role.key]
    if form is ProfileForm.NAME:
        return cfn.ref(profile_id)
    if form is ProfileForm.ARN:
        return cfn.get_att(profile_id, cfn.ARN_ATTRIBUTE)
    if form is ProfileForm.NAME_OBJECT:
        return {"Name": cfn.ref(profile_id)}
    return {"Arn": cfn.get_att(profile_id, cfn.ARN_ATTRIBUTE)}


def _writer(use: _SiteUse, value: Any) -> Callable[[Any], Any]:
    """How to rewrite the use's container: in place of the key, keeping key order."""
    if use.site.kind is SiteKind.OPTION_SETTING:
        target_option = use.site.profile_property

        def write_option(entry: Mapping[str, Any]) -> dict[str, Any]:
            rewritten = dict(entry)
            rewritten["OptionName"] = target_option
            rewritten["Value"] = value
            return rewritten

        return write_option

    def write_property(container: Mapping[str, Any]) -> dict[str, Any]:
        return {
            (use.site.profile_property if key == use.key else key): (value if key == use.key else old)
            for key, old in container.items()
        }

    return write_property


def _replace_at(node: Any, path: Path, rewrite: Callable[[Any], Any]) -> Any:
    """A copy of node with rewrite applied at path; only the containers on the path are copied."""
    if not path:
        return rewrite(node)
    step, rest = path[0], path[1:]
    if isinstance(node, list) and isinstance(step, int):
        copied = list(node)
        copied[step] = _replace_at(node[step], rest, rewrite)
        return copied
    copied_mapping = dict(node)
    copied_mapping[step] = _replace_at(node[step], rest, rewrite)
    return copied_mapping


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
