"""check: what a plan would break (service naming rules, taken IDs and names, CloudFormation's limits)."""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Mapping

from profile_expand.core import cfn
from profile_expand.core.conditions import excludes
from profile_expand.core.errors import (
    Diagnostics,
    Spot,
)
from profile_expand.core.index import TemplateIndex
from profile_expand.core.inline_roles import satisfies
from profile_expand.core.model import (
    InlineRole,
    Plan,
    Profile,
    Use,
)
from profile_expand.core.roles import (
    RoleRef,
)
from profile_expand.core.text import quote, short


def check(plan: Plan, index: TemplateIndex, diagnostics: Diagnostics) -> None:
    """What the plan would break: services' role naming rules, taken IDs and names, CloudFormation's limits."""
    for use in plan.uses:
        if not use.role_rules:
            continue
        for role, _ in use.roles:
            if role.definition is None:
                _check_role_rules(use, role, index, diagnostics.at(use.logical_id, use.path))
    _check_generated_ids(plan, index, diagnostics)
    _check_profile_names(plan.profiles, diagnostics)
    count = len(index.resources) + len(plan.roles) + len(plan.profiles)
    if count > cfn.MAX_RESOURCES:
        diagnostics.at("").error(too_many_resources(f"the expanded template would have {count} resources"))


def _check_role_rules(use: Use, role: RoleRef, index: TemplateIndex, spot: Spot) -> None:
    """A service's naming rule for the role: an error when the role's name cannot meet it."""
    for rule in use.role_rules:
        if role.template_role:
            properties = index.role_properties[role.template_role]
            verdict = satisfies(properties, rule)
            if verdict is None:
                spot.warn(
                    f"{use.site.resource_type} needs a role with {rule.describe()}; role {role.template_role} "
                    f"has no literal RoleName, so its generated name may not match. Set RoleName or Path."
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
                named_as = f"{role.template_role} (RoleName {quote(properties.get(cfn.ROLE_NAME))})"
            spot.error(
                f"{use.site.resource_type} needs a role with {rule.describe()}, "
                f"but the role is {named_as}; rename the role."
            )


def _check_generated_ids(plan: Plan, index: TemplateIndex, diagnostics: Diagnostics) -> None:
    """Each generated logical ID fits CloudFormation, is free and names one resource; so is the name of
    its new condition."""
    condition_names = set(index.condition_terms)
    generated: list[tuple[InlineRole | Profile, str]] = [(role, "role") for role in plan.roles]
    generated += [(profile, "instance profile") for profile in plan.profiles]
    first_holder: dict[str, tuple[InlineRole | Profile, str]] = {}
    for resource, what in sorted(generated, key=lambda item: (item[0].logical_id, item[0].users[0])):
        spot = diagnostics.at(resource.users[0])
        holder, holder_what = first_holder.setdefault(resource.logical_id, (resource, what))
        if holder is not resource:
            # Two different generated resources (another role, or other options) under one ID.
            spot.error(
                f"two different generated resources would get the logical ID {short(resource.logical_id)}: "
                f"the {_describe(resource, what)} used by {', '.join(resource.users)} and the "
                f"{_describe(holder, holder_what)} used by {', '.join(holder.users)}. Uses sharing a Profile "
                "LogicalId must name the same role with the same Path and InstanceProfileName; give the "
                "others another LogicalId."
            )
            continue
        chosen = isinstance(resource, Profile) and resource.options.logical_id is not None
        problem = _id_problem(resource.logical_id, chosen, index)
        if problem and chosen:
            spot.error(f"Profile LogicalId {short(resource.logical_id)} {problem}.")
        elif problem:
            spot.error(
                f"the generated {what} would get the logical ID {short(resource.logical_id)}, which {problem}, "
                "or write the instance profile yourself."
            )
        if resource.condition.expression is not None:
            name = f"{resource.logical_id}Condition"
            if name in condition_names:
                spot.error(
                    f"the condition for generated {what} {resource.logical_id} would be named {name}, "
                    "which Conditions already defines; rename that condition."
                )
            condition_names.add(name)


def _id_problem(logical_id: str, chosen: bool, index: TemplateIndex) -> str | None:
    """Why a generated logical ID cannot be used (chosen: the author wrote it as a Profile LogicalId)."""
    if len(logical_id) > cfn.MAX_LOGICAL_ID:
        return (
            f"is longer than CloudFormation's {cfn.MAX_LOGICAL_ID} characters; shorten the role's logical ID"
        )
    if logical_id not in index.taken_ids:
        return None
    other = index.resources.get(logical_id)
    owner = f"a resource of type {other.get(cfn.TYPE)}" if isinstance(other, Mapping) else "taken"
    if logical_id in index.parameter_types:
        owner = "a parameter"
    if chosen:
        return (
            f"is already {owner} in this template; choose another LogicalId (a hand-written profile is not "
            "shared this way: point the site at it directly, or remove it, as `profile-expand migrate` does)"
        )
    return f"is already {owner} in this template; rename that resource"


def _describe(generated: InlineRole | Profile, what: str) -> str:
    """'instance profile of role X with Path /p/', for messages about two generated resources."""
    if not isinstance(generated, Profile):
        return what
    entry = generated.role.roles_entry
    role = generated.role.template_role or (entry if isinstance(entry, str) else quote(entry))
    if generated.role.definition is not None:
        role = "defined inline"
    path = f" with Path {quote(generated.options.path)}" if generated.options.path is not None else ""
    return f"{what} of role {short(role)}{path}"


def _check_profile_names(profiles: tuple[Profile, ...], diagnostics: Diagnostics) -> None:
    """IAM names are unique per account: two profiles of this stack that can exist together may not share one."""
    holders_by_name: dict[str, list[Profile]] = {}
    for profile in profiles:
        name = _literal_profile_name(profile)
        if name is not None:
            holders_by_name.setdefault(name, []).append(profile)
    for name, holders in sorted(holders_by_name.items()):
        for position, first in enumerate(holders):
            for second in holders[position + 1 :]:
                if not _exclusive(first, second):
                    diagnostics.at(min(first.users + second.users)).error(
                        f"the instance profiles {short(first.logical_id)} and {short(second.logical_id)} "
                        f"would both be named {quote(name)}; IAM names are unique, so give each its own "
                        "InstanceProfileName (or use NamePrefix)."
                    )


def _literal_profile_name(profile: Profile) -> str | None:
    name = profile.options.name
    return name if isinstance(name, str) else None


def _exclusive(first: Profile, second: Profile) -> bool:
    """Whether two profiles can never exist together (every pair of uses excludes each other)."""
    return all(excludes(need, other) for need in first.requirements for other in second.requirements)


def too_many_resources(count: str) -> str:
    return (
        f"{count}, more than CloudFormation's limit of {cfn.MAX_RESOURCES}; split the template into "
        "nested stacks (each with its own `Transform: ProfileExpand`) or share roles between resources."
    )
