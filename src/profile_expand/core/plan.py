"""plan: the inline roles and instance profiles to generate, their conditions and what must wait for them."""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from profile_expand.core import cfn
from profile_expand.core.conditions import Requirement, named, plan_condition
from profile_expand.core.errors import (
    Diagnostics,
)
from profile_expand.core.index import TemplateIndex
from profile_expand.core.inline_roles import apply_name_rules, inline_role_properties
from profile_expand.core.model import (
    InlineRole,
    Plan,
    Profile,
    Use,
    generated_profile_id,
)
from profile_expand.core.profile_options import (
    ProfileOptions,
)
from profile_expand.core.readiness import dependents, depends_on_list
from profile_expand.core.roles import (
    RoleRef,
)
from profile_expand.core.sites import RoleNameRule

_NAMED_IAM = "deploy with CAPABILITY_NAMED_IAM"


def make_plan(
    uses: tuple[Use, ...], index: TemplateIndex, defaults: ProfileOptions, diagnostics: Diagnostics
) -> Plan:
    """The roles and profiles to generate for the uses, and the dependencies to add."""
    roles = _plan_inline_roles(uses, diagnostics)
    profiles = _plan_profiles(uses, roles, defaults, diagnostics)
    depends_on = _plan_readiness(uses, index, diagnostics)
    return Plan(uses, roles, profiles, depends_on)


def _plan_inline_roles(uses: tuple[Use, ...], diagnostics: Diagnostics) -> tuple[InlineRole, ...]:
    """One AWS::IAM::Role per distinct inline definition of each resource, named after that resource.

    A resource with one inline definition (however many of its sites repeat it) gets `<Resource>Role`;
    one with several distinct definitions gets `<Resource>Role<digest>` for each. The name depends only
    on the resource that defines the role, never on other resources; a taken name is an error (check).
    """
    groups = _inline_groups(uses)
    per_owner: dict[str, int] = {}
    for _, owner, _, _ in groups.values():
        per_owner[owner] = per_owner.get(owner, 0) + 1
    planned: list[InlineRole] = []
    for key, (role, owner, needs, rules) in sorted(
        groups.items(), key=lambda kv: (kv[1][1], kv[1][0].digest)
    ):
        assert role.definition is not None
        logical_id = f"{owner}Role" if per_owner[owner] == 1 else f"{owner}Role{role.digest}"
        properties, problems, notes = apply_name_rules(
            inline_role_properties(role.definition), rules, role.digest
        )
        spot = diagnostics.at(owner)
        for problem in problems:
            spot.error(f"inline role {logical_id}: {problem}")
        for note in notes:
            spot.warn(f"inline role {logical_id}: {note}")
        if cfn.ROLE_NAME in role.definition:
            spot.warn(f"inline role {logical_id} sets RoleName: {_NAMED_IAM}.")
        condition = plan_condition(needs)
        planned.append(InlineRole(key, logical_id, (owner,), frozenset(needs), condition, properties))
    return tuple(planned)


def _inline_groups(
    uses: tuple[Use, ...],
) -> dict[str, tuple[RoleRef, str, set[Requirement], list[RoleNameRule]]]:
    """Inline definition -> (its role, the resource defining it, under which conditions its sites use it,
    the naming rules of those sites). The definition's key holds the resource: it has no other user."""
    groups: dict[str, tuple[RoleRef, str, set[Requirement], list[RoleNameRule]]] = {}
    for use in uses:
        for role, requirement in use.roles:
            if role.definition is None:
                continue
            if role.key not in groups:
                groups[role.key] = (role, use.logical_id, set(), [])
            _, _, needs, rules = groups[role.key]
            needs.add(requirement)
            rules.extend(rule for rule in use.role_rules if rule not in rules)
    return groups


def _plan_profiles(
    uses: tuple[Use, ...],
    roles: tuple[InlineRole, ...],
    defaults: ProfileOptions,
    diagnostics: Diagnostics,
) -> tuple[Profile, ...]:
    """One generated profile per role and set of options.

    A profile the template already has for the role is never reused implicitly: which profile a site gets
    would then depend on another resource, and adding or removing that resource would move the site.
    """
    inline_ids = {role.key: role.logical_id for role in roles}
    planned: list[Profile] = []
    for role, options, users, needs in _profile_groups(uses).values():
        requirements = frozenset(needs)
        user_ids = tuple(sorted(users))
        inline_id = inline_ids.get(role.key)
        if options.logical_id is not None:
            # Profile: {LogicalId: X} (e.g. to keep a hand-written profile's ID): X, as written.
            logical_id = options.logical_id
        else:
            stem = inline_id or role.stem
            suffix = "" if role.exact_stem else role.digest
            logical_id = generated_profile_id(stem, options.label(defaults), suffix)
        if options.named:
            diagnostics.at(user_ids[0]).warn(f"instance profile {logical_id} is named: {_NAMED_IAM}.")
        roles_entry = cfn.ref(inline_id) if inline_id else role.roles_entry
        condition = plan_condition(requirements)
        planned.append(Profile(role, options, logical_id, roles_entry, user_ids, requirements, condition))
    return tuple(planned)


def _profile_groups(
    uses: tuple[Use, ...],
) -> dict[tuple[str, str], tuple[RoleRef, ProfileOptions, set[str], set[Requirement]]]:
    """(role, options) -> the resources sharing one profile and under which conditions, in the order the
    uses first name them. A role under its own Condition adds that condition."""
    groups: dict[tuple[str, str], tuple[RoleRef, ProfileOptions, set[str], set[Requirement]]] = {}
    for use in uses:
        options_key = use.options.key
        for role, requirement in use.roles:
            key = (role.key, options_key)
            if key not in groups:
                groups[key] = (role, use.options, set(), set())
            _, _, users, needs = groups[key]
            users.add(use.logical_id)
            needs.add(requirement | {named(role.condition)} if role.condition else requirement)
    return groups


def _plan_readiness(
    uses: tuple[Use, ...], index: TemplateIndex, diagnostics: Diagnostics
) -> dict[str, list[str]]:
    """Resource -> policies on its roles that it must wait for (DependsOn to add, in logical-ID order:
    reordering the template must not reorder a resource's DependsOn)."""
    attached = index.policies_by_role
    if not attached:
        return {}
    resources = index.resources
    dependents_of = dependents(resources)
    wanted: dict[str, set[str]] = {}
    for use in uses:
        if not use.readiness:
            continue  # the author (or profile-expand migrate, keeping a stack as it was) turned it off here
        resource = resources[use.logical_id]
        written = set(depends_on_list(resource) or ())
        for role, _ in use.roles:
            for policy in attached.get(role.template_role or "", ()):
                if policy in wanted.get(use.logical_id, ()) or policy in written:
                    continue
                policy_condition = resources[policy].get(cfn.CONDITION)
                if policy in dependents_of(use.logical_id):
                    reason = f"policy {policy} already depends on {use.logical_id} (a cycle)"
                elif policy_condition is not None and policy_condition != resource.get(cfn.CONDITION):
                    reason = f"policy {policy} is under Condition {policy_condition}"
                elif depends_on_list(resource) is None:
                    reason = "its DependsOn is not a logical ID or a list of them"
                else:
                    wanted.setdefault(use.logical_id, set()).add(policy)
                    continue
                diagnostics.at(use.logical_id, (cfn.DEPENDS_ON,)).warn(
                    f"DependsOn {policy} was not added because {reason}; the resource may start "
                    f"before the policy is attached to role {role.template_role}."
                )
    return {logical_id: sorted(policies) for logical_id, policies in wanted.items()}
