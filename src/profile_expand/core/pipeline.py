"""The pure transform: expand(template) -> template. No AWS, no I/O, nothing done at import time.

Read top to bottom: analyse() collects every site (collect), decides the roles and profiles to
generate (plan) and checks what the plan would break (check), giving a frozen Model; render() writes
the references and the generated resources from it. Problems are recorded in one Diagnostics and
raised together, sorted by logical ID.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.conditions import Requirement, excludes, named, negated, plan_condition
from profile_expand.core.errors import (
    ERROR,
    MACRO_ERROR,
    MACRO_WARNING,
    Diagnostics,
    Finding,
    InvalidTemplateError,
    Spot,
    TemplateWarning,
    error_order,
)
from profile_expand.core.index import TemplateIndex, index_template
from profile_expand.core.inline_roles import apply_name_rules, inline_role_properties, satisfies
from profile_expand.core.mistakes import judge, site_role_rules
from profile_expand.core.model import (
    PROFILE,
    PROFILE_WRONG_FORM,
    ROLE,
    SHORTHAND,
    TOO_DEEP,
    Correction,
    Entry,
    Found,
    InlineRole,
    Model,
    Plan,
    Profile,
    Use,
    classify,
    generated_profile_id,
    rejudged,
    role_as_profile,
    shorthand_without_transform,
    site_entries,
    site_values,
)
from profile_expand.core.profile_options import (
    NO_OPTIONS,
    ProfileOptions,
    site_form,
    split_site_value,
    stack_unique_name,
    template_defaults,
    with_required_prefix,
)
from profile_expand.core.readiness import dependents, depends_on_list
from profile_expand.core.roles import (
    REFERENCE,
    IfChoice,
    NoValue,
    Rejected,
    RoleChoice,
    RoleRef,
    RoleUse,
    TemplateRoles,
    parse_role,
)
from profile_expand.core.sites import SITES, ProfileForm, RoleNameRule, Site, SiteKind, sites_for
from profile_expand.core.syntax import CLOUDFORMATION, Syntax
from profile_expand.core.text import Path, digest, quote, short

_NAMED_IAM = "deploy with CAPABILITY_NAMED_IAM"
_NONE: Requirement = frozenset()  # no condition terms

__all__ = [
    "Expansion",
    "TemplateWarning",
    "analyse",
    "analyse_resource",
    "expand",
    "expand_with_report",
    "render",
    "uses_shorthand",
]


class Expansion(NamedTuple):
    """The expanded template and what was done to it."""

    template: dict[str, Any]
    warnings: tuple[TemplateWarning, ...]
    profiles_created: tuple[str, ...]
    sites_rewritten: int
    roles_created: tuple[str, ...] = ()


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
    # The macro reports none of the lint-only findings (a trust policy, a naming rule): not asked for.
    model = analyse(template, lint=False)
    if model.errors:
        raise InvalidTemplateError(finding.as_error() for finding in model.errors)
    return render(template, model)


def analyse(
    template: Mapping[str, Any],
    *,
    transform_declared: bool = True,
    lint: bool = True,
    macro_name: str = cfn.TRANSFORM_NAME,
    syntax: Syntax = CLOUDFORMATION,
) -> Model:
    """The account of a template: sites found and judged, findings, and what the macro would write.

    transform_declared: the template lists ProfileExpand in its Transform (the macro only ever sees such
    templates). Without it nothing is expanded, and the shorthand itself is the finding (W9001).
    lint: also judge what only the lint rules report (E9006-E9008, W9003); the macro leaves them out.
    macro_name: the name the macro is deployed under (its MacroName), as the advice in findings says it.
    syntax: how the findings spell references (a front end that translated its input: its own language).
    """
    diagnostics = Diagnostics()
    resources = _resources(template, diagnostics.at(""), macro_name)
    if resources is None:
        # Without the Transform the macro never runs: the missing section is cfn-lint's E1001 alone.
        return Model((), _macro_findings(diagnostics) if transform_declared else (), None)
    if not _within_limits(resources, None, diagnostics):
        return Model((), _macro_findings(diagnostics), None)
    index = index_template(template, resources)
    if transform_declared:
        for finding in unexpanded_loops(dict(index.loops), macro_name):
            diagnostics.at(finding.logical_id, finding.path).error(finding.message)
    if not _within_limits(resources, index, diagnostics):
        return Model((), _macro_findings(diagnostics), None)
    if transform_declared:
        _check_sections(template, index, diagnostics)
    defaults = template_defaults(template, diagnostics)
    found, uses = collect(index, defaults, diagnostics)
    if not transform_declared:
        return _without_transform(found, uses, index, lint, macro_name, syntax)
    plan = None
    if uses:
        plan = make_plan(uses, index, defaults, diagnostics)
        # The mistakes are judged against the template as the macro leaves it: a site may name a profile
        # (or role) the macro generates, and a second expansion must find nothing left to do.
        as_it_will_be = index.with_generated(_generated_types(plan))
        found = rejudged(found, as_it_will_be)
        plan = _with_naming_sites(plan, found, as_it_will_be)
        check(plan, index, diagnostics)
        _check_generated_roles_named(found, plan, diagnostics)
        index = as_it_will_be
    mistakes, certain = judge(found, uses, index, lint=lint, macro_name=macro_name)
    corrections = _corrections(certain, diagnostics)
    if diagnostics.has_errors():
        plan = None
    rewritten = plan.uses if plan is not None else ()
    # What the macro does not correct (it fails, or the mistake is not certain) the lint rules report.
    uncorrected = tuple(c.finding for c in certain if not corrections)
    findings = (
        *_macro_findings(diagnostics),
        *_roles_as_profiles(found, rewritten, macro_name),
        *uncorrected,
        *mistakes,
    )
    return Model(found, findings, plan, corrections)


def analyse_resource(
    resource_type: str,
    logical_id: str,
    properties: Mapping[str, Any],
    *,
    macro_name: str = cfn.TRANSFORM_NAME,
) -> Model:
    """The account of one resource on its own, as deployed (no transform): what the guard judges of each
    resource a hook shows it, its properties resolved. The same findings as analyse() gives that resource
    in a template of its own, from one walk of its sites (model.site_values)."""
    resource = {cfn.TYPE: resource_type, cfn.PROPERTIES: properties}
    resources = {logical_id: resource}
    index = index_template({cfn.RESOURCES: resources}, resources)
    found = site_values(resource_type, properties, logical_id, index)
    return _without_transform(found, (), index, True, macro_name)


def _without_transform(
    found: tuple[Found, ...],
    uses: tuple[Use, ...],
    index: TemplateIndex,
    lint: bool,
    macro_name: str,
    syntax: Syntax = CLOUDFORMATION,
) -> Model:
    """A template as CloudFormation takes it without ProfileExpand: nothing is expanded, every mistake is
    a finding, and the shorthand itself is one (W9001)."""
    mistakes, certain = judge(found, uses, index, lint=lint, macro_name=macro_name, syntax=syntax)
    shorthand = [shorthand_without_transform(f, macro_name) for f in found if f.kind == SHORTHAND]
    judged = (*(c.finding for c in certain), *mistakes)
    roles = _roles_as_profiles(found, (), macro_name, syntax)
    return Model(found, (*shorthand, *roles, *judged), None)


def has_site_types(template: Mapping[str, Any]) -> bool:
    """Whether any resource is of a site's type or an instance profile: what the analysis can judge."""
    resources = template.get(cfn.RESOURCES) if isinstance(template, Mapping) else None
    return isinstance(resources, Mapping) and any(
        isinstance(resource, Mapping)
        and isinstance(resource.get(cfn.TYPE), str)
        and (bool(sites_for(resource[cfn.TYPE])) or resource[cfn.TYPE] == cfn.INSTANCE_PROFILE_TYPE)
        for resource in resources.values()
    )


def uses_shorthand(template: Mapping[str, Any]) -> bool:
    """Whether any site of the template holds the IamRole shorthand: what only the macro can deploy."""
    found = analyse(template, transform_declared=False, lint=False).found
    return any(leaf.kind == SHORTHAND for leaf in found)


def _generated_types(plan: Plan) -> dict[str, str]:
    types = {role.logical_id: cfn.IAM_ROLE_TYPE for role in plan.roles}
    types.update((profile.logical_id, cfn.INSTANCE_PROFILE_TYPE) for profile in plan.profiles)
    return types


def _with_naming_sites(plan: Plan, found: tuple[Found, ...], index: TemplateIndex) -> Plan:
    """A site naming a generated profile uses it too: the profile exists whenever that site may (its
    resource's Condition, the Fn::If branches around it), as for the uses it is generated for."""
    needs: dict[str, set[Requirement]] = {}
    for leaf in found:
        if leaf.kind in (PROFILE, PROFILE_WRONG_FORM) and leaf.profile in index.generated:
            condition = index.resource_conditions.get(leaf.logical_id)
            need: Requirement = frozenset((named(condition),)) if condition else _NONE
            if cfn.FN_IF in leaf.path:
                need |= _branch_terms(index.resources[leaf.logical_id], leaf.path, index)
            needs.setdefault(leaf.profile, set()).add(need)
    if not needs:
        return plan
    profiles = []
    for profile in plan.profiles:
        extra = needs.get(profile.logical_id)
        if extra is not None:
            role = profile.role.condition
            # As for every use: the profile exists only with its role.
            added = {need | {named(role)} if role else need for need in extra}
            requirements = profile.requirements | added
            profile = profile._replace(requirements=requirements, condition=plan_condition(requirements))
        profiles.append(profile)
    return plan._replace(profiles=tuple(profiles))


def _check_generated_roles_named(found: tuple[Found, ...], plan: Plan, diagnostics: Diagnostics) -> None:
    """A role the macro generates, named where an instance profile belongs: its profile goes there."""
    generated = {role.logical_id: role for role in plan.roles}
    for leaf in found:
        role = generated.get(leaf.role or "") if leaf.kind == ROLE else None
        if role is None:
            continue
        profiles = [p.logical_id for p in plan.profiles if p.roles_entry == cfn.ref(role.logical_id)]
        form = leaf.form or leaf.site.writes
        instead = " or ".join(f"`{form.shown(profile)}`" for profile in profiles)
        diagnostics.at(leaf.logical_id, leaf.path).error(
            f"{quote(leaf.value)} is role {short(role.logical_id)}, which ProfileExpand generates for the "
            f"inline {cfn.IAM_ROLE_SHORTHAND} of {', '.join(role.users)}, but {leaf.site.profile_property} "
            f"takes an instance profile: write {instead or 'an instance profile'}."
        )


def _corrections(certain: tuple[Correction, ...], diagnostics: Diagnostics) -> tuple[Correction, ...]:
    """The certain fixes the macro writes, each with its warning; none when the macro fails anyway."""
    if diagnostics.has_errors():
        return ()
    for correction in certain:
        diagnostics.at(correction.logical_id, correction.path).warn(correction.warning)
    return certain


def unexpanded_loops(
    resources: Mapping[str, Any], macro_name: str = cfn.TRANSFORM_NAME
) -> tuple[Finding, ...]:
    """E9002 for each Fn::ForEach loop (nested ones too) whose resources use the shorthand.

    The macro sees a loop only when AWS::LanguageExtensions has not run before it (listed after it, or
    not at all): it cannot expand what the loop will make, and CloudFormation would receive IamRole.
    """
    found = []
    for key, body in _loop_bodies(resources):
        if uses_shorthand({cfn.RESOURCES: body}):
            found.append(
                Finding(
                    MACRO_ERROR,
                    ERROR,
                    key,
                    (),
                    f"IamRole in the resources of this loop is never expanded: {macro_name} runs before "
                    f"{cfn.LANGUAGE_EXTENSIONS} makes them, and sees only the loop. List "
                    f"{cfn.LANGUAGE_EXTENSIONS} first: `{cfn.TRANSFORM}: [{cfn.LANGUAGE_EXTENSIONS}, {macro_name}]`.",
                )
            )
    return tuple(found)


def _loop_bodies(resources: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(loop key, its resources) for each Fn::ForEach::Name [identifier, collection, resources]."""
    for key, value in resources.items():
        if not (isinstance(key, str) and key.startswith(cfn.FOR_EACH_PREFIX)):
            continue
        if isinstance(value, list) and len(value) == 3 and isinstance(value[2], Mapping):
            yield key, value[2]
            yield from _loop_bodies(value[2])


def _resources(
    template: object, spot: Spot, macro_name: str = cfn.TRANSFORM_NAME
) -> Mapping[str, Any] | None:
    """The Resources section, or None after recording why this is no template."""
    if not isinstance(template, Mapping):
        spot.error(f"the fragment must be a template (a JSON object), not {quote(template)}.")
        return None
    if cfn.RESOURCES not in template and macro_name in cfn.transform_names(template):
        # A template-level Transform, so not Fn::Transform: the template itself lacks the section.
        spot.error(f"the template has no {cfn.RESOURCES} section: CloudFormation requires one.")
        return None
    if cfn.RESOURCES not in template:
        spot.error(
            "the fragment has no Resources section. ProfileExpand is a template-level macro: write "
            "`Transform: ProfileExpand` at the top of the template, not `Fn::Transform` inside a "
            "resource's Properties (a snippet cannot add the instance profile resources)."
        )
        return None
    resources = template[cfn.RESOURCES]
    if not isinstance(resources, Mapping):
        spot.error(f"Resources must be a mapping of logical IDs to resources, not {quote(resources)}.")
        return None
    return resources


def _within_limits(
    resources: Mapping[str, Any], index: TemplateIndex | None, diagnostics: Diagnostics
) -> bool:
    """CloudFormation's own limits, checked first: the number of resources before the index is built,
    the length of logical IDs as it is built. Past them no template deploys, and no later pass runs."""
    if index is None:
        if len(resources) > cfn.MAX_RESOURCES:
            diagnostics.at("").error(_too_many(f"the template has {len(resources)} resources"))
            return False
        return True
    for logical_id in index.long_ids:
        diagnostics.at(logical_id).error(
            f"the logical ID is {len(logical_id)} characters long, more than CloudFormation's "
            f"{cfn.MAX_LOGICAL_ID}; shorten it."
        )
    return not diagnostics.has_errors()


def _too_many(count: str) -> str:
    return (
        f"{count}, more than CloudFormation's limit of {cfn.MAX_RESOURCES}; split the template into "
        "nested stacks (each with its own `Transform: ProfileExpand`) or share roles between resources."
    )


def _check_sections(template: Mapping[str, Any], index: TemplateIndex, diagnostics: Diagnostics) -> None:
    """Conditions is a mapping, and each resource's Condition names one of them: the macro copies
    conditions onto what it generates, and would otherwise replace the section or write a dangling name."""
    if cfn.CONDITIONS in template and not isinstance(template[cfn.CONDITIONS], Mapping):
        diagnostics.at("").error(
            f"{cfn.CONDITIONS} must be a mapping of condition names to conditions, not "
            f"{quote(template[cfn.CONDITIONS])}."
        )
        return
    for logical_id, condition in index.undefined_conditions:
        spot = diagnostics.at(logical_id, (cfn.CONDITION,))
        if isinstance(condition, str):
            spot.error(f"condition {quote(condition)} is not defined in {cfn.CONDITIONS}; define it there.")
        else:
            spot.error(f"{cfn.CONDITION} takes a condition name (a string), not {quote(condition)}.")


def _macro_findings(diagnostics: Diagnostics) -> tuple[Finding, ...]:
    """What the macro answers: its errors (unique, sorted) if any, else its warnings (sorted)."""
    if diagnostics.has_errors():
        # The same problem found twice (e.g. in two Fn::If branches of one container) is reported once.
        return tuple(sorted({f for f in diagnostics.findings if f.code == MACRO_ERROR}, key=error_order))
    warnings = [f for f in diagnostics.findings if f.code == MACRO_WARNING]
    return tuple(sorted(warnings, key=lambda w: (w.logical_id, str(w.path), w.message)))


def _roles_as_profiles(
    found: tuple[Found, ...], rewritten: tuple[Use, ...], macro_name: str, syntax: Syntax = CLOUDFORMATION
) -> list[Finding]:
    """E9001 for each role where a profile belongs, except the values the macro rewrites itself."""
    roles = [f for f in found if f.kind == ROLE]
    if not roles:
        return []
    done = {(use.logical_id, use.path) for use in rewritten}
    return [role_as_profile(f, macro_name, syntax) for f in roles if (f.logical_id, f.value_path) not in done]


# -- collect -----------------------------------------------------------------------------------------


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
        requirement: Requirement = frozenset((named(condition),)) if isinstance(condition, str) else _NONE
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
                        requirement | _branch_terms(resource, entry[0], index)
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
    role_id = _corrected_role(site, value, leaves)
    if role_id is None:
        return None
    spot.warn(
        f"{quote(value)} points at role {short(role_id)}, but {site.profile_property} takes an instance "
        f"profile; ProfileExpand treated it as `{cfn.IAM_ROLE_SHORTHAND}: !Ref {short(role_id)}`. "
        f"Write {cfn.IAM_ROLE_SHORTHAND} to make this explicit.",
    )
    corrected = parse_role(cfn.ref(role_id), index, owner=owner, made=template_roles)
    assert not isinstance(corrected, Rejected)  # a role of the template, by its logical ID
    return *corrected, NO_OPTIONS, True


def _corrected_role(site: Site, value: object, leaves: tuple[Found, ...]) -> str | None:
    """The classic mistake the macro corrects: the whole value (or its one Arn/Name) is a Ref or GetAtt
    Arn of the template's role. Anything less certain is left as written (E9001 reports it)."""
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
        if leaf.steps == wanted and leaf.how == REFERENCE:
            return leaf.role
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


def _branch_terms(resource: Mapping[str, Any], path: Path, index: TemplateIndex) -> Requirement:
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


# -- plan --------------------------------------------------------------------------------------------


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


# -- check -------------------------------------------------------------------------------------------


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
        diagnostics.at("").error(_too_many(f"the expanded template would have {count} resources"))


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


# -- render ------------------------------------------------------------------------------------------


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
