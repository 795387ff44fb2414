"""The pure transform: expand(template) -> template. No AWS, no I/O, nothing done at import time.

Three passes: find every site that uses a role (collect), decide the roles and profiles to generate
(plan), then write the references and the generated resources (render). Problems are collected across
all passes and raised once, sorted by logical ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from profile_expand import cfn
from profile_expand.conditions import ConditionPlan, Requirement, excludes, named, negated, plan_condition
from profile_expand.errors import InvalidTemplateError, TemplateError
from profile_expand.inline_roles import apply_name_rules, carries_policy, inline_role_properties, satisfies
from profile_expand.profile_options import (
    ProfileOptions,
    split_site_value,
    stack_unique_name,
    template_defaults,
    with_required_prefix,
)
from profile_expand.readiness import dependency_closure, depends_on_list, policies_by_role
from profile_expand.roles import (
    MAX_LOGICAL_ID,
    IfChoice,
    NoValue,
    Path,
    RoleChoice,
    RoleParser,
    RoleRef,
    TemplateIndex,
    UseRole,
    digest,
    quote,
    short,
    template_role_in,
)
from profile_expand.sites import ProfileForm, RoleNameRule, Site, SiteKind, containers, sites_for

_NAMED_IAM = "deploy with CAPABILITY_NAMED_IAM"


class TemplateWarning(NamedTuple):
    """Something the expansion did or saw that the author should know; it does not stop the expansion."""

    logical_id: str
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return str(TemplateError(self.logical_id, self.path, self.message))


class Expansion(NamedTuple):
    """The expanded template and what was done to it."""

    template: dict[str, Any]
    warnings: tuple[TemplateWarning, ...]
    profiles_created: tuple[str, ...]
    sites_rewritten: int
    roles_created: tuple[str, ...] = ()


class _SiteUse(NamedTuple):
    """One site that takes its profile from a role choice."""

    logical_id: str
    site: Site
    container_path: Path  # below the resource, to the mapping (or option-settings entry) to rewrite
    key: str  # the key holding the role today (IamRole, or the profile property itself when corrected)
    choice: RoleChoice
    requirement: Requirement  # the resource's own Condition, as terms
    options: ProfileOptions  # for the profile: the site's own over the template's defaults
    role_rules: tuple[RoleNameRule, ...]  # naming rules the service sets for the role
    readiness: bool = True  # False: `PermissionReadiness: false` at the site, no DependsOn added for it

    @property
    def path(self) -> Path:
        return (*self.container_path, self.key)


# Plain classes, not dataclasses: each dataclass costs the Lambda's cold start about half a millisecond.
class _Generated:
    """Uses of one role (or one role and one set of profile options) that share a generated resource."""

    def __init__(self) -> None:
        self.requirements: set[Requirement] = set()
        self.users: set[str] = set()
        self.logical_id = ""
        self.condition = ConditionPlan()

    def add(self, use: _SiteUse, requirement: Requirement) -> None:
        self.requirements.add(requirement)
        self.users.add(use.logical_id)


class _InlineRole(_Generated):
    def __init__(self, definition: Mapping[str, Any], digest: str) -> None:
        super().__init__()
        self.definition = definition
        self.digest = digest
        self.rules: list[RoleNameRule] = []
        self.properties: dict[str, Any] = {}


class _Profile(_Generated):
    def __init__(self, role: RoleRef, options: ProfileOptions) -> None:
        super().__init__()
        self.role = role
        self.options = options
        self.stem = ""
        self.roles_entry: Any = None


_ProfileKey = tuple[str, str]  # (role key, options key)


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
    """Like expand(), and also say what was done: warnings, profiles and roles created, sites rewritten.

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

    def _error(self, logical_id: str, path: Path, message: str) -> None:
        self.errors.append(TemplateError(logical_id, path, message))

    def _warn(self, logical_id: str, path: Path, message: str) -> None:
        self.warnings.append(TemplateWarning(logical_id, path, message))

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
        self.resources = resources
        self.index = _index(template, resources)
        self.defaults = template_defaults(template, self.errors)
        parser = RoleParser(self.index, self.errors)
        uses = [
            use
            for logical_id, resource in resources.items()
            for use in self._collect(logical_id, resource, parser)
        ]
        if not uses:
            if self.errors:
                raise InvalidTemplateError(self.errors)
            return Expansion(dict(template), tuple(self.warnings), (), 0)
        roles = self._plan_inline_roles(uses)
        profiles = self._plan_profiles(uses, roles)
        self._check_names_and_limits(template, roles, profiles)
        depends_on = self._plan_readiness(uses)
        if self.errors:
            raise InvalidTemplateError(self.errors)
        return self._render(uses, roles, profiles, depends_on)

    # -- collect -----------------------------------------------------------------------------------

    def _collect(self, logical_id: object, resource: object, parser: RoleParser) -> Iterator[_SiteUse]:
        if not (isinstance(logical_id, str) and isinstance(resource, Mapping)):
            return
        kind = resource.get(cfn.TYPE)
        sites = sites_for(kind) if isinstance(kind, str) else ()
        if not sites:
            return
        condition = resource.get(cfn.CONDITION)
        requirement: Requirement = frozenset({named(condition)} if isinstance(condition, str) else ())
        for site in sites:
            # A container inside Fn::If (e.g. LaunchTemplateData: !If [...]) is rewritten in each branch,
            # and what that branch uses exists under the branch's condition.
            for path, container in containers(resource, site.container, through_fn_if=True):
                in_branch = requirement | _branch_terms(resource, path)
                found: Iterator[tuple[Path, str, object, bool]]
                if site.kind is SiteKind.OPTION_SETTING:
                    found = self._option_setting_roles(logical_id, site, path, container)
                else:
                    found = self._property_roles(logical_id, site, path, container)
                for container_path, key, value, is_shorthand in found:
                    use = self._use(
                        logical_id,
                        resource,
                        site,
                        container_path,
                        key,
                        value,
                        is_shorthand,
                        parser,
                        in_branch,
                    )
                    if use:
                        yield use
        self._check_misplaced(logical_id, resource, sites)

    def _property_roles(
        self, logical_id: str, site: Site, path: Path, container: object
    ) -> Iterator[tuple[Path, str, object, bool]]:
        """(container path, key, value, is it IamRole) for the role a property site holds, if any."""
        if not isinstance(container, Mapping):
            return
        shorthand = cfn.IAM_ROLE_SHORTHAND
        if shorthand in container and site.profile_property in container:
            self._error(
                logical_id,
                (*path, shorthand),
                f"both {shorthand} and {site.profile_property} are set; keep one "
                f"({shorthand} generates the instance profile that {site.profile_property} would name).",
            )
        elif shorthand in container:
            yield path, shorthand, container[shorthand], True
        elif site.profile_property in container:
            yield path, site.profile_property, container[site.profile_property], False

    def _option_setting_roles(
        self, logical_id: str, site: Site, path: Path, settings: object
    ) -> Iterator[tuple[Path, str, object, bool]]:
        """Elastic Beanstalk: the IamRole (or IamInstanceProfile) entry of the launch configuration namespace."""
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
                    self._error(
                        logical_id,
                        (*entry_path, "OptionName"),
                        f"both {cfn.IAM_ROLE_SHORTHAND} and {site.profile_property} options are set in "
                        f"namespace {site.option_namespace}; keep one.",
                    )
                    continue
                yield entry_path, "Value", entry.get("Value"), True
            elif entry.get("OptionName") == site.profile_property:
                yield entry_path, "Value", entry.get("Value"), False

    def _use(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        site: Site,
        container_path: Path,
        key: str,
        value: object,
        is_shorthand: bool,
        parser: RoleParser,
        requirement: Requirement,
    ) -> _SiteUse | None:
        path = (*container_path, key)
        if is_shorthand:
            split = split_site_value(value, logical_id, path, self.errors)
            if split is None:
                return None
            role_value, role_path, site_options, readiness = split
            choice = parser.parse(role_value, logical_id, role_path)
        else:
            readiness = True
            choice, site_options = (
                self._corrected_mistake(logical_id, site, path, value, parser),
                ProfileOptions(),
            )
        if choice is None:
            return None
        # A service's required prefix wins over the template-wide NamePrefix, not over the site's own choice.
        if site.profile_name_prefix:
            site_options = with_required_prefix(
                site_options, site.profile_name_prefix, logical_id, path, self.errors
            )
        options = site_options.over(self.defaults)
        rules = self._role_rules(logical_id, resource, site, path)
        return _SiteUse(logical_id, site, container_path, key, choice, requirement, options, rules, readiness)

    def _corrected_mistake(
        self, logical_id: str, site: Site, path: Path, value: object, parser: RoleParser
    ) -> RoleChoice | None:
        """The classic mistake: a role where the profile belongs. Under this Transform, fix it."""
        inner = value
        if site.writes in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT) and isinstance(value, Mapping):
            found = [value[part] for part in ("Arn", "Name") if part in value]
            inner = found[0] if len(found) == 1 else None
        role_id = template_role_in(inner, parser.index)
        if role_id is None:
            return None
        self._warn(
            logical_id,
            path,
            f"{quote(value)} points at role {short(role_id)}, but {site.profile_property} takes an instance "
            f"profile; ProfileExpand treated it as `{cfn.IAM_ROLE_SHORTHAND}: !Ref {short(role_id)}`. "
            f"Write {cfn.IAM_ROLE_SHORTHAND} to make this explicit.",
        )
        return parser.parse(cfn.ref(role_id), logical_id, path)

    def _role_rules(
        self, logical_id: str, resource: Mapping[str, Any], site: Site, path: Path
    ) -> tuple[RoleNameRule, ...]:
        """The site's naming rule for the role, when it applies to this resource."""
        rule, when = site.role_name_rule, site.role_name_rule_when
        if rule is None:
            return ()
        if when is None:
            return (rule,)
        related = next((value for _, value in containers(resource, when.role_property)), None)
        related_role = template_role_in(related, self.index)
        if related_role is not None:
            return (rule,) if carries_policy(self.resources[related_role], when.policy_name) else ()
        if related is not None:
            self._warn(
                logical_id,
                path,
                f"if the role at {'.'.join(when.role_property)} carries the AWS managed policy "
                f"{when.policy_name}, the instance role needs {rule.describe()}.",
            )
        return ()

    def _check_misplaced(self, logical_id: str, resource: Mapping[str, Any], sites: tuple[Site, ...]) -> None:
        """IamRole written directly in Properties of a type whose site is deeper: say where it goes."""
        properties = resource.get(cfn.PROPERTIES)
        if not isinstance(properties, Mapping) or cfn.IAM_ROLE_SHORTHAND not in properties:
            return
        if any(site.container == (cfn.PROPERTIES,) for site in sites):
            return
        where = " or ".join(site.property_path.rsplit(".", 1)[0] for site in sites)
        self._error(
            logical_id,
            (cfn.PROPERTIES, cfn.IAM_ROLE_SHORTHAND),
            f"{resource.get(cfn.TYPE)} takes {cfn.IAM_ROLE_SHORTHAND} inside {where}, "
            "where its instance profile property is; move it there.",
        )

    # -- plan --------------------------------------------------------------------------------------

    def _plan_inline_roles(self, uses: list[_SiteUse]) -> dict[str, _InlineRole]:
        """One AWS::IAM::Role per distinct inline definition of each resource, named after that resource.

        A resource with one inline definition (however many of its sites repeat it) gets `<Resource>Role`;
        one with several distinct definitions gets `<Resource>Role<digest>` for each. The name depends only
        on the resource that defines the role, never on other resources; a taken name is an error.
        """
        roles: dict[str, _InlineRole] = {}
        for use in uses:
            for role, requirement in _roles_of(use.choice, use.requirement):
                if role.definition is None:
                    continue
                inline = roles.setdefault(
                    role.key, _InlineRole(definition=role.definition, digest=role.digest)
                )
                inline.add(use, requirement)
                inline.rules.extend(rule for rule in use.role_rules if rule not in inline.rules)
        per_owner: dict[str, int] = {}
        for inline in roles.values():
            per_owner[min(inline.users)] = per_owner.get(min(inline.users), 0) + 1
        for inline in sorted(roles.values(), key=lambda r: (min(r.users), r.digest)):
            owner = min(inline.users)  # the key holds the resource: an inline role has exactly one user
            inline.logical_id = f"{owner}Role" if per_owner[owner] == 1 else f"{owner}Role{inline.digest}"
            inline.condition = plan_condition(inline.requirements)
            inline.properties = inline_role_properties(inline.definition)
            problems, notes = apply_name_rules(inline.properties, inline.rules, inline.digest)
            for problem in problems:
                self._error(owner, (), f"inline role {inline.logical_id}: {problem}")
            for note in notes:
                self._warn(owner, (), f"inline role {inline.logical_id}: {note}")
            if cfn.ROLE_NAME in inline.definition:
                self._warn(owner, (), f"inline role {inline.logical_id} sets RoleName: {_NAMED_IAM}.")
        return roles

    def _plan_profiles(
        self, uses: list[_SiteUse], roles: Mapping[str, _InlineRole]
    ) -> dict[_ProfileKey, _Profile]:
        profiles: dict[_ProfileKey, _Profile] = {}
        for use in uses:
            for role, requirement in _roles_of(use.choice, use.requirement):
                profile = profiles.get((role.key, use.options.key))
                if profile is None:
                    profile = _Profile(role=role, options=use.options)
                    inline = roles.get(role.key)
                    profile.stem = inline.logical_id if inline else role.stem
                    profile.roles_entry = cfn.ref(inline.logical_id) if inline else role.roles_entry
                    profiles[(role.key, use.options.key)] = profile
                if role.condition:
                    requirement = requirement | {named(role.condition)}
                profile.add(use, requirement)
                if role.definition is None:
                    self._check_role_rules(use, role)
        # A profile the template already has for the role is never reused implicitly: which profile a site
        # gets would then depend on another resource, and adding or removing that resource would move the site.
        for profile in sorted(profiles.values(), key=lambda p: (p.role.key, p.options.key)):
            profile.condition = plan_condition(profile.requirements)
            if profile.options.logical_id is not None:
                # Profile: {LogicalId: X} (e.g. to keep a hand-written profile's ID): X, as written.
                profile.logical_id = profile.options.logical_id
            else:
                label = profile.options.label(self.defaults)
                exact = profile.role.exact_stem
                suffix = "" if exact else profile.role.digest
                profile.logical_id = f"{profile.stem}{label}InstanceProfile{suffix}"
            if profile.options.named:
                self._warn(
                    min(profile.users), (), f"instance profile {profile.logical_id} is named: {_NAMED_IAM}."
                )
        return profiles

    def _check_role_rules(self, use: _SiteUse, role: RoleRef) -> None:
        """A service's naming rule for the role: an error when the role's name cannot meet it."""
        for rule in use.role_rules:
            if role.template_role:
                properties = self.resources[role.template_role].get(cfn.PROPERTIES)
                verdict = satisfies(properties if isinstance(properties, Mapping) else {}, rule)
                if verdict is None:
                    self._warn(
                        use.logical_id,
                        use.path,
                        f"{use.site.resource_type} needs a role with {rule.describe()}; role {role.template_role} "
                        f"has no literal RoleName, so its generated name may not match. Set RoleName or Path.",
                    )
                    continue
            elif isinstance(role.roles_entry, str):
                # A role named outside the template: its name can prove a mismatch only when no path could help.
                verdict = role.roles_entry.startswith(rule.name_prefixes) or bool(rule.paths)
            else:
                continue
            if verdict is False:
                named_as = quote(role.roles_entry)
                if role.template_role:
                    properties = self.resources[role.template_role].get(cfn.PROPERTIES) or {}
                    named_as = f"{role.template_role} (RoleName {quote(properties.get(cfn.ROLE_NAME))})"
                self._error(
                    use.logical_id,
                    use.path,
                    f"{use.site.resource_type} needs a role with {rule.describe()}, "
                    f"but the role is {named_as}; rename the role.",
                )

    def _check_names_and_limits(
        self,
        template: Mapping[str, Any],
        roles: Mapping[str, _InlineRole],
        profiles: Mapping[_ProfileKey, _Profile],
    ) -> None:
        conditions = template.get(cfn.CONDITIONS)
        condition_names = set(conditions) if isinstance(conditions, Mapping) else set()
        taken = set(self.resources) | set(self.index.parameter_types)
        generated: list[tuple[_Generated, str]] = [(role, "role") for role in roles.values()]
        generated += [(profile, "instance profile") for profile in profiles.values()]
        first_holder: dict[str, tuple[_Generated, str]] = {}
        for resource, what in sorted(generated, key=lambda item: (item[0].logical_id, min(item[0].users))):
            first_user = min(resource.users)
            chosen = isinstance(resource, _Profile) and resource.options.logical_id is not None
            holder, holder_what = first_holder.setdefault(resource.logical_id, (resource, what))
            if holder is not resource:
                # Two different generated resources (another role, or other options) under one ID.
                self._error(
                    first_user,
                    (),
                    f"two different generated resources would get the logical ID {short(resource.logical_id)}: "
                    f"the {_describe(resource, what)} used by {', '.join(sorted(resource.users))} and the "
                    f"{_describe(holder, holder_what)} used by {', '.join(sorted(holder.users))}. Uses sharing a Profile LogicalId must name the same "
                    "role with the same Path and InstanceProfileName; give the others another LogicalId.",
                )
                continue
            problem = None
            if len(resource.logical_id) > MAX_LOGICAL_ID:
                problem = f"is longer than CloudFormation's {MAX_LOGICAL_ID} characters; shorten the role's logical ID"
            elif resource.logical_id in taken:
                other = self.resources.get(resource.logical_id)
                owner = f"a resource of type {other.get(cfn.TYPE)}" if isinstance(other, Mapping) else "taken"
                if resource.logical_id in self.index.parameter_types:
                    owner = "a parameter"
                problem = f"is already {owner} in this template; rename that resource"
                if chosen:
                    problem = (
                        f"is already {owner} in this template; choose another LogicalId (a hand-written "
                        "profile is not shared this way: point the site at it directly, or remove it, "
                        "as `profile-expand migrate` does)"
                    )
            if problem and chosen:
                self._error(
                    first_user,
                    (),
                    f"Profile LogicalId {short(resource.logical_id)} {problem}.",
                )
            elif problem:
                self._error(
                    first_user,
                    (),
                    f"the generated {what} would get the logical ID {short(resource.logical_id)}, which {problem}, "
                    "or write the instance profile yourself.",
                )
            taken.add(resource.logical_id)
            if resource.condition.expression is not None:
                name = f"{resource.logical_id}Condition"
                if name in condition_names:
                    self._error(
                        first_user,
                        (),
                        f"the condition for generated {what} {resource.logical_id} would be named {name}, "
                        "which Conditions already defines; rename that condition.",
                    )
                condition_names.add(name)
        self._check_profile_names(profiles)
        count = len(self.resources) + len(generated)
        if count > cfn.MAX_RESOURCES:
            self._error(
                "",
                (),
                f"the expanded template would have {count} resources, more than CloudFormation's limit of "
                f"{cfn.MAX_RESOURCES}; split the template into nested stacks (each with its own "
                "`Transform: ProfileExpand`) or share roles between resources.",
            )

    def _check_profile_names(self, profiles: Mapping[_ProfileKey, _Profile]) -> None:
        """IAM names are unique per account: two profiles of this stack that can exist together may not share one."""
        named: dict[str, list[_Profile]] = {}
        for profile in profiles.values():
            name = self._literal_profile_name(profile)
            if name is not None:
                named.setdefault(name, []).append(profile)
        for name, holders in sorted(named.items()):
            for index, first in enumerate(holders):
                for second in holders[index + 1 :]:
                    if not _exclusive(first, second):
                        self._error(
                            min(first.users | second.users),
                            (),
                            f"the instance profiles {short(first.logical_id)} and {short(second.logical_id)} "
                            f"would both be named {quote(name)}; IAM names are unique, so give each its own "
                            "InstanceProfileName (or use NamePrefix).",
                        )

    def _literal_profile_name(self, profile: _Profile) -> str | None:
        name = profile.options.name
        return name if isinstance(name, str) else None

    def _plan_readiness(self, uses: list[_SiteUse]) -> dict[str, list[str]]:
        """Resource -> policies on its roles that it must wait for (DependsOn to add, in logical-ID order:
        reordering the template must not reorder a resource's DependsOn)."""
        attached = policies_by_role(self.resources)
        if not attached:
            return {}
        closures: dict[str, set[str]] = {}
        wanted: dict[str, list[str]] = {}
        for use in uses:
            if not use.readiness:
                continue  # the author (or profile-expand migrate, keeping a stack as it was) turned it off here
            resource = self.resources[use.logical_id]
            for role, _ in _roles_of(use.choice, frozenset()):
                for policy in attached.get(role.template_role or "", []):
                    if policy in wanted.get(use.logical_id, []) or policy in (
                        depends_on_list(resource) or []
                    ):
                        continue
                    if policy not in closures:
                        closures[policy] = dependency_closure(self.resources, policy)
                    policy_condition = self.resources[policy].get(cfn.CONDITION)
                    if use.logical_id in closures[policy]:
                        reason = f"policy {policy} already depends on {use.logical_id} (a cycle)"
                    elif policy_condition is not None and policy_condition != resource.get(cfn.CONDITION):
                        reason = f"policy {policy} is under Condition {policy_condition}"
                    elif depends_on_list(resource) is None:
                        reason = "its DependsOn is not a logical ID or a list of them"
                    else:
                        wanted.setdefault(use.logical_id, []).append(policy)
                        continue
                    self._warn(
                        use.logical_id,
                        (cfn.DEPENDS_ON,),
                        f"DependsOn {policy} was not added because {reason}; the resource may start "
                        f"before the policy is attached to role {role.template_role}.",
                    )
        return {logical_id: sorted(policies) for logical_id, policies in wanted.items()}

    # -- render ------------------------------------------------------------------------------------

    def _render(
        self,
        uses: list[_SiteUse],
        roles: Mapping[str, _InlineRole],
        profiles: Mapping[_ProfileKey, _Profile],
        depends_on: Mapping[str, list[str]],
    ) -> Expansion:
        new_resources = dict(self.resources)
        ids_by_options: dict[str, dict[str, str]] = {}
        for (role_key, options_key), profile in profiles.items():
            ids_by_options.setdefault(options_key, {})[role_key] = profile.logical_id
        for use in uses:
            # A use whose every branch is AWS::NoValue has no profile of its own.
            value = _render_choice(use.choice, use.site.writes, ids_by_options.get(use.options.key, {}))
            new_resources[use.logical_id] = _replace_at(
                new_resources[use.logical_id], use.container_path, _writer(use, value)
            )
        for logical_id, policies in depends_on.items():
            new_resources[logical_id] = _with_depends_on(new_resources[logical_id], policies)
        new_conditions: dict[str, Any] = {}
        generated_roles = sorted(roles.values(), key=lambda r: r.logical_id)
        generated_profiles = sorted(profiles.values(), key=lambda p: p.logical_id)
        for inline in generated_roles:
            new_resources[inline.logical_id] = _generated_resource(
                cfn.IAM_ROLE_TYPE, inline, inline.properties, new_conditions
            )
        for profile in generated_profiles:
            properties: dict[str, Any] = {cfn.ROLES: [profile.roles_entry]}
            if profile.options.path is not None:
                properties["Path"] = profile.options.path
            if profile.options.name is not None:
                properties[cfn.INSTANCE_PROFILE_NAME] = profile.options.name
            elif profile.options.name_prefix is not None:
                # The digest covers the options too: two profiles of one role must not share a name.
                name_digest = digest(f"{profile.role.key}|{profile.options.key}")
                properties[cfn.INSTANCE_PROFILE_NAME] = stack_unique_name(
                    profile.options.name_prefix, name_digest
                )
            new_resources[profile.logical_id] = _generated_resource(
                cfn.INSTANCE_PROFILE_TYPE, profile, properties, new_conditions
            )
        result = _with_conditions(self.template, new_conditions)
        result[cfn.RESOURCES] = new_resources
        return Expansion(
            template=result,
            warnings=tuple(sorted(self.warnings, key=lambda w: (w.logical_id, str(w.path), w.message))),
            profiles_created=tuple(p.logical_id for p in generated_profiles),
            sites_rewritten=len(uses),
            roles_created=tuple(r.logical_id for r in generated_roles),
        )


def _describe(generated: _Generated, what: str) -> str:
    """'instance profile of role X (Path /p/)' for messages about two generated resources."""
    if not isinstance(generated, _Profile):
        return what
    entry = generated.role.roles_entry
    role = generated.role.template_role or (entry if isinstance(entry, str) else quote(entry))
    if generated.role.definition is not None:
        role = "defined inline"
    path = f" with Path {quote(generated.options.path)}" if generated.options.path is not None else ""
    return f"{what} of role {short(role)}{path}"


def _generated_resource(
    kind: str, generated: _Generated, properties: dict[str, Any], new_conditions: dict[str, Any]
) -> dict[str, Any]:
    resource: dict[str, Any] = {cfn.TYPE: kind}
    plan = generated.condition
    if plan.existing:
        resource[cfn.CONDITION] = plan.existing
    elif plan.expression is not None:
        resource[cfn.CONDITION] = f"{generated.logical_id}Condition"
        new_conditions[resource[cfn.CONDITION]] = plan.expression
    resource[cfn.PROPERTIES] = properties
    resource[cfn.METADATA] = {cfn.METADATA_KEY: {"GeneratedFor": sorted(generated.users)}}
    return resource


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


def _branch_terms(resource: Mapping[str, Any], path: Path) -> Requirement:
    """The conditions of the Fn::If branches a path goes through: the condition, or its Fn::Not."""
    terms = set()
    node: Any = resource
    for position, step in enumerate(path):
        if step == cfn.FN_IF and isinstance(node[step][0], str):
            branch = path[position + 1]
            terms.add(named(node[step][0]) if branch == 1 else negated(node[step][0]))
        node = node[step]
    return frozenset(terms)


def _exclusive(first: _Generated, second: _Generated) -> bool:
    """Whether two generated resources can never exist together (every pair of uses excludes each other)."""
    return all(excludes(need, other) for need in first.requirements for other in second.requirements)


def _roles_of(choice: RoleChoice, requirement: Requirement) -> Iterator[tuple[RoleRef, Requirement]]:
    """Each role a choice may use, with the condition terms under which it is used."""
    if isinstance(choice, UseRole):
        yield choice.role, requirement
    elif isinstance(choice, IfChoice):
        yield from _roles_of(choice.when_true, requirement | {named(choice.condition)})
        yield from _roles_of(choice.when_false, requirement | {negated(choice.condition)})


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
