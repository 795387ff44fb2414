"""The pure transform: expand(template) -> template. No AWS, no I/O, nothing done at import time.

Read top to bottom: analyse() collects every site (collect.py), decides the roles and profiles to
generate (plan.py) and checks what the plan would break (check.py), giving a frozen Model; render.py
writes the references and the generated resources from it. Problems are recorded in one Diagnostics
and raised together, sorted by logical ID.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Iterator, Mapping
from typing import Any

from profile_expand.core import cfn
from profile_expand.core.check import check, too_many_resources
from profile_expand.core.collect import branch_terms, collect
from profile_expand.core.conditions import UNCONDITIONAL, Requirement, named, plan_condition
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
from profile_expand.core.mistakes import judge
from profile_expand.core.model import (
    PROFILE,
    PROFILE_WRONG_FORM,
    ROLE,
    SHORTHAND,
    Correction,
    Found,
    Model,
    Plan,
    Use,
    rejudged,
    role_as_profile,
    shorthand_without_transform,
    site_values,
)
from profile_expand.core.plan import make_plan
from profile_expand.core.profile_options import (
    template_defaults,
)
from profile_expand.core.render import Expansion, render
from profile_expand.core.sites import sites_for
from profile_expand.core.syntax import CLOUDFORMATION, Syntax
from profile_expand.core.text import quote, short

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
            need: Requirement = frozenset((named(condition),)) if condition else UNCONDITIONAL
            if cfn.FN_IF in leaf.path:
                need |= branch_terms(index.resources[leaf.logical_id], leaf.path, index)
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
            diagnostics.at("").error(too_many_resources(f"the template has {len(resources)} resources"))
            return False
        return True
    for logical_id in index.long_ids:
        diagnostics.at(logical_id).error(
            f"the logical ID is {len(logical_id)} characters long, more than CloudFormation's "
            f"{cfn.MAX_LOGICAL_ID}; shorten it."
        )
    return not diagnostics.has_errors()


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
