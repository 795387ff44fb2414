"""collect: every site of a template, what its value is (role, profile, shorthand, mistake) and where."""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Mapping
from typing import Any, Final

from profile_expand.core import cfn
from profile_expand.core.conditions import UNCONDITIONAL, Requirement, named, negated
from profile_expand.core.errors import (
    Diagnostics,
    Spot,
)
from profile_expand.core.index import TemplateIndex
from profile_expand.core.mistakes import site_role_rules
from profile_expand.core.model import (
    ROLE,
    TOO_DEEP,
    Entry,
    Found,
    Use,
    classify,
    site_entries,
)
from profile_expand.core.profile_options import (
    NO_OPTIONS,
    ProfileOptions,
    site_form,
    split_site_value,
    with_required_prefix,
)
from profile_expand.core.roles import (
    ARN,
    REFERENCE,
    Rejected,
    RoleChoice,
    RoleUse,
    TemplateRoles,
    parse_role,
)
from profile_expand.core.sites import SITES, RoleNameRule, Site, SiteKind
from profile_expand.core.text import Path, quote, short


def collect(
    index: TemplateIndex, defaults: ProfileOptions, diagnostics: Diagnostics
) -> tuple[tuple[Found, ...], tuple[Use, ...]]:
    """Every value found at a site, judged; and the uses: the sites the macro rewrites."""
    found: list[Found] = []
    uses: list[Use] = []
    # What a site without options gets, the usual case: worked out once, not at every site.
    unset_over_defaults = NO_OPTIONS.over(defaults)
    template_roles: TemplateRoles = {}  # each template role's choice, made at the first site naming it
    for logical_id, resource, sites in index.sited:
        spot = diagnostics.at(logical_id)
        condition = resource.get(cfn.CONDITION)
        requirement: Requirement = (
            frozenset((named(condition),)) if isinstance(condition, str) else UNCONDITIONAL
        )
        for site in sites:
            # A container inside Fn::If (e.g. LaunchTemplateData: !If [...]) is rewritten in each branch,
            # and what that branch uses exists under the branch's condition.
            for path, at_site in site_entries(resource, site):
                if at_site is None:
                    spot.below(*path).error(cfn.TOO_DEEP_IF)
                    continue
                for entry in at_site:
                    # Inside Fn::If branches (around the container, or an option entry) what the entry
                    # uses exists under the branches' conditions.
                    in_branch = (
                        requirement | branch_terms(resource, entry[0], index)
                        if cfn.FN_IF in entry[0]
                        else requirement
                    )
                    leaves = classify(logical_id, site, entry, index)
                    # Only a profile property is walked for leaves: the shorthand is one leaf, as written.
                    if not entry[3] and any(leaf.kind == TOO_DEEP for leaf in leaves):
                        for leaf in leaves:
                            if leaf.kind == TOO_DEEP:
                                spot.below(*leaf.path).error(cfn.TOO_DEEP_IF)
                        continue
                    found.extend(leaves)
                    if len(at_site) > 1 and _conflicts(site, entry, at_site, spot):
                        continue
                    entry_path, key = entry[0], entry[1]
                    at = diagnostics.at(logical_id, (*entry_path, key))
                    picked = _role_choice(site, entry, leaves, index, at, template_roles)
                    if picked is None:
                        continue
                    choice, used, options, readiness = picked
                    # A service's required prefix wins over the template-wide NamePrefix, not over the
                    # site's own choice.
                    if site.profile_name_prefix:
                        options = with_required_prefix(options, site.profile_name_prefix, at)
                    if site_form(options, site, at) is None:
                        continue
                    rules = _role_rules(resource, site, index, at)
                    options = unset_over_defaults if options is NO_OPTIONS else options.over(defaults)
                    roles = tuple(
                        [(role, in_branch.union(terms) if terms else in_branch) for role, terms in used]
                    )
                    uses.append(
                        Use(logical_id, site, entry_path, key, choice, roles, options, rules, readiness)
                    )
        _check_misplaced(resource, sites, spot)
    return tuple(found), tuple(uses)


def _conflicts(site: Site, entry: Entry, at_site: list[Entry], spot: Spot) -> bool:
    """IamRole beside the profile property it stands for: an error; neither is used (options: IamRole).
    Only asked when a container holds more than one entry."""
    container, key, _, shorthand = entry
    if site.kind is SiteKind.OPTION_SETTING:
        # Entries in two branches of one Fn::If never deploy together.
        if not shorthand or all(other[3] or _exclusive_paths(container, other[0]) for other in at_site):
            return False
        spot.below(*container, "OptionName").error(
            f"both {cfn.IAM_ROLE_SHORTHAND} and {site.profile_property} options are set in "
            f"namespace {site.option_namespace}; keep one."
        )
        return True
    if len(at_site) < 2:
        return False
    if shorthand:
        spot.below(*container, key).error(
            f"both {cfn.IAM_ROLE_SHORTHAND} and {site.profile_property} are set; keep one "
            f"({cfn.IAM_ROLE_SHORTHAND} generates the instance profile that {site.profile_property} would name).",
        )
    return True


def _role_choice(
    site: Site,
    entry: Entry,
    leaves: tuple[Found, ...],
    index: TemplateIndex,
    spot: Spot,
    template_roles: TemplateRoles,
) -> tuple[RoleChoice, tuple[RoleUse, ...], ProfileOptions, bool] | None:
    """The role an entry chooses and the roles it may use, the site's own profile options and whether
    permission readiness is on there; None if it is not the macro's to rewrite, or cannot work (recorded
    at `spot`)."""
    _, _, value, shorthand = entry
    owner = spot.logical_id  # the spot is bound to the resource: a role it defines inline is its own
    if shorthand:
        split = split_site_value(value, spot)
        if split is None:
            return None
        role, role_path, options, readiness = split
        parsed = parse_role(role, index, owner=owner, made=template_roles)
        if isinstance(parsed, Rejected):
            for steps, message in parsed.problems:
                spot.below(*role_path, *steps).error(message)
            return None
        return *parsed, options, readiness
    corrected_leaf = _corrected_role(site, value, leaves)
    if corrected_leaf is None:
        return None
    role_id = corrected_leaf.role
    shorthand_value: object
    if role_id is not None:
        what, shorthand_value = f"points at role {short(role_id)}", cfn.ref(role_id)
        written = f"!Ref {short(role_id)}"
    else:
        # A literal role ARN: a profile holding that role, as IamRole given the ARN makes.
        what, shorthand_value = "is an IAM role ARN", corrected_leaf.value
        written = str(corrected_leaf.value)
    spot.warn(
        f"{quote(value)} {what}, but {site.profile_property} takes an instance "
        f"profile; ProfileExpand treated it as `{cfn.IAM_ROLE_SHORTHAND}: {written}`. "
        f"Write {cfn.IAM_ROLE_SHORTHAND} to make this explicit.",
    )
    corrected = parse_role(shorthand_value, index, owner=owner, made=template_roles)
    if isinstance(corrected, Rejected):  # an ARN IAM's name pattern refuses: E9001 reports it as written
        return None
    return *corrected, NO_OPTIONS, True


def _corrected_role(site: Site, value: object, leaves: tuple[Found, ...]) -> Found | None:
    """The classic mistake the macro corrects: the whole value (or its one Arn/Name) is a Ref or GetAtt
    Arn of the template's role, or a literal role ARN. Anything less certain is left as written (E9001
    reports it)."""
    if site.takes_object:
        if not isinstance(value, Mapping):
            return None
        keys = [key for key in ("Arn", "Name") if key in value]
        if len(keys) != 1:
            return None
        wanted: Path = (keys[0],)
    else:
        wanted = ()
    for leaf in leaves:
        if leaf.steps == wanted and leaf.kind == ROLE and leaf.how in (REFERENCE, ARN):
            return leaf
    return None


def _role_rules(
    resource: Mapping[str, Any], site: Site, index: TemplateIndex, spot: Spot
) -> tuple[RoleNameRule, ...]:
    """The site's naming rule for the role, when it applies to this resource."""
    rules, undecided = site_role_rules(resource, site, index)
    when, rule = site.role_name_rule_when, site.role_name_rule
    if undecided and when is not None and rule is not None:
        spot.warn(
            f"if the role at {'.'.join(when.role_property)} carries the AWS managed policy "
            f"{when.policy_name}, the instance role needs {rule.describe()}."
        )
    return rules


# The types whose IamRole goes directly in Properties: the one place where it is never misplaced.
_IAM_ROLE_IN_PROPERTIES: Final = frozenset(
    site.resource_type for site in SITES if site.container == (cfn.PROPERTIES,)
)


def _check_misplaced(resource: Mapping[str, Any], sites: tuple[Site, ...], spot: Spot) -> None:
    """IamRole written directly in Properties of a type whose site is deeper: say where it goes."""
    if resource.get(cfn.TYPE) in _IAM_ROLE_IN_PROPERTIES:
        return
    properties = resource.get(cfn.PROPERTIES)
    if not isinstance(properties, Mapping) or cfn.IAM_ROLE_SHORTHAND not in properties:
        return
    where = " or ".join(site.property_path.rsplit(".", 1)[0] for site in sites)
    spot.below(cfn.PROPERTIES, cfn.IAM_ROLE_SHORTHAND).error(
        f"{resource.get(cfn.TYPE)} takes {cfn.IAM_ROLE_SHORTHAND} inside {where}, "
        "where its instance profile property is; move it there."
    )


def _exclusive_paths(first: Path, second: Path) -> bool:
    """Whether two paths part in the two branches of one Fn::If (never both deployed)."""
    for position, (step, other) in enumerate(zip(first, second, strict=False)):
        if step != other:
            return position > 0 and first[position - 1] == cfn.FN_IF and {step, other} == {1, 2}
    return False


def branch_terms(resource: Mapping[str, Any], path: Path, index: TemplateIndex) -> Requirement:
    """The conditions of the Fn::If branches a path goes through: the condition, or its Fn::Not."""
    terms = set()
    node: Any = resource
    for position, step in enumerate(path):
        if step == cfn.FN_IF and isinstance(node[step][0], str):
            condition = node[step][0]
            # An undefined condition is reported elsewhere; its terms are still written the same way.
            when = index.condition_terms.get(condition) or (named(condition), negated(condition))
            terms.add(when[0] if path[position + 1] == 1 else when[1])
        node = node[step]
    return frozenset(terms)
