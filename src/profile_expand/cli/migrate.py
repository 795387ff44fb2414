"""Which hand-written instance profiles `profile-expand migrate` can turn into IamRole, exactly.

Pure: takes a plain template, returns a plan (what to rewrite, what to keep and why). It reads the sites
from the core's model (analyse) and proves every conversion by expanding it (expand_with_report).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from profile_expand.cli.migrate_compare import (
    _dependencies,
    _normalise,
    _readable,
    _references,
    _value_at,
    differences,
    named_by_name,
)
from profile_expand.cli.migrate_depends import (
    _implied_depends_on,
    _movable_depends_on,
    moved_depends_on,
    moved_from,
)
from profile_expand.core import cfn
from profile_expand.core.errors import InvalidTemplateError
from profile_expand.core.model import SHORTHAND
from profile_expand.core.pipeline import analyse, expand_with_report
from profile_expand.core.profile_options import FORM_KEY, LOGICAL_ID_KEY
from profile_expand.core.readiness import depends_on_list
from profile_expand.core.roles import PROFILE_KEY, READINESS_KEY, ROLE_KEY
from profile_expand.core.sites import ProfileForm, Site, SiteKind

# Spelled once, in cfn; these names are what migrate_source imports.
TRANSFORM: Final = cfn.TRANSFORM
MACRO: Final = cfn.TRANSFORM_NAME
# What a generated profile can carry: anything else on a hand-written one keeps it hand-written.
_CONVERTIBLE_PROPERTIES: Final = (cfn.ROLES, "Path", cfn.INSTANCE_PROFILE_NAME)
# A DependsOn is convertible too when the profile's references already imply every entry of it.
_CONVERTIBLE_ATTRIBUTES: Final = (cfn.TYPE, cfn.PROPERTIES, cfn.CONDITION, cfn.DEPENDS_ON)
_NESTED_STACK: Final = "AWS::CloudFormation::Stack"
# Mentions of a profile that --keep-references accepts: the profile keeps its logical ID, so they still
# name it after the macro has run (plain cfn-lint of the source would report them; profile-expand lint not).
_OUTSIDE_REFERENCES: Final = frozenset({"outputs", "nested-stack", "fn-sub", "other-reference", "depends-on"})

Path = tuple[str | int, ...]


class Slot(NamedTuple):
    """A site property (or Elastic Beanstalk option) that names a profile, with its path from the root."""

    logical_id: str
    site: Site
    path: Path  # Resources, logical ID, ..., the profile property (or the option entry's "Value")
    # The template profile the value names by its name, not its logical ID: a literal InstanceProfileName,
    # or `!Ref X` where the profile is named after X (the same-name pattern). The index's one fact.
    named: str | None = None

    @property
    def where(self) -> str:
        return _readable(self.path)


class Conversion(NamedTuple):
    """One profile becoming IamRole at its sites.

    iam_role: the value written at every site naming the profile in the form the site writes; a site
    that named it in the other accepted form gets Profile Form as well (`value(position)`).
    forms: per slot, the form the original named the profile in (empty: each site's own).
    dropped: resources whose DependsOn on the profile goes, their reference to it implying it.
    moved: the profile's own DependsOn that no reference of it implies, kept on the sites' resources.
    """

    profile: str
    slots: tuple[Slot, ...]
    iam_role: Any
    forms: tuple[ProfileForm, ...] = ()
    dropped: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()

    def value(self, position: int) -> Any:
        """The IamRole value written at slot `position`."""
        site = self.slots[position].site
        form = self.forms[position] if self.forms else site.writes
        if form is site.writes:
            return copy.deepcopy(self.iam_role)
        value = self.iam_role
        wrapped = copy.deepcopy(value) if _wrapped(value) else {ROLE_KEY: copy.deepcopy(value)}
        wrapped[PROFILE_KEY] = {**wrapped.get(PROFILE_KEY, {}), FORM_KEY: form.key}
        # Key order as the author reads it: Role, Profile, PermissionReadiness.
        return {key: wrapped[key] for key in (ROLE_KEY, PROFILE_KEY, READINESS_KEY) if key in wrapped}


class Reason(NamedTuple):
    """Why a profile stays hand-written: a short code (for counting) and the sentence printed."""

    code: str
    text: str

    def __str__(self) -> str:
        return self.text


class Kept(NamedTuple):
    profile: str
    reasons: tuple[Reason, ...]


class Plan(NamedTuple):
    """What migrate does to a template. `blocked` says why nothing can be converted at all."""

    conversions: tuple[Conversion, ...]
    kept: tuple[Kept, ...]
    blocked: str | None = None
    adds_transform: bool = False


def plan(template: Mapping[str, Any], *, keep_references: bool = False) -> Plan:
    """Decide, profile by profile, what can become IamRole with the expansion exactly the original.

    Each candidate is tried alone: converted, expanded, and compared with the original; the first set of
    options (plain, then LogicalId, then PermissionReadiness: false) that gives exactly the original wins.
    Then the candidates are proven together, one at a time: one that breaks the others is kept, saying so.
    keep_references: also convert a profile that Outputs, a nested stack or another property names,
    keeping its logical ID so that they still name it.
    """
    resources = template.get(cfn.RESOURCES)
    if not isinstance(resources, Mapping):
        return Plan((), (), "the template has no Resources mapping")
    profiles = [
        lid
        for lid, resource in resources.items()
        if isinstance(resource, Mapping) and resource.get(cfn.TYPE) == cfn.INSTANCE_PROFILE_TYPE
    ]
    has_macro = MACRO in cfn.transform_items(template)
    try:
        baseline = deployed(template)
    except InvalidTemplateError as error:
        reason = Reason("macro-rejects-template", f"the macro rejects the template as it is: {error.summary}")
        return Plan((), tuple(Kept(p, (reason,)) for p in profiles), reason.text)
    if not has_macro:
        # Adding the Transform alone must change nothing (it would, e.g., correct a role named as a profile).
        said: list[str] = []
        try:
            report = expand_with_report(with_transform(template))
            problems = differences(baseline, report.template)
            said = [str(warning) for warning in report.warnings]
        except InvalidTemplateError as error:
            problems = [error.summary]
        if problems:
            # Say which correction: the macro's own warning for it (the first, and how many more).
            more = f" (and {len(said) - 1} more)" if len(said) > 1 else ""
            detail = f"; the macro says: {said[0]}{more}" if said else ""
            reason = Reason(
                "transform-changes-template",
                f"adding Transform: {MACRO} would itself change the template ({problems[0]}){detail}",
            )
            return Plan((), tuple(Kept(p, (reason,)) for p in profiles), reason.text)
    slots = _slots(template)
    candidates: list[Conversion] = []
    kept: list[Kept] = []
    for profile in profiles:
        reasons = _static_reasons(template, profile, slots)
        outside = [reason for reason in reasons if reason.code in _OUTSIDE_REFERENCES]
        if keep_references:
            reasons = [reason for reason in reasons if reason.code not in _OUTSIDE_REFERENCES]
        uses = [(slot, form) for slot in slots if (form := _form_at(slot, profile, resources)) is not None]
        if not reasons and not uses:
            reasons = [Reason("unused", "it is used at no instance-profile site")]
        if reasons:
            kept.append(Kept(profile, tuple(reasons)))
            continue
        dropped = _implied_depends_on(template, profile, uses)
        moved = _movable_depends_on(template, profile, [slot for slot, _ in uses]) or ()
        conversion, failure = _prove(template, baseline, profile, tuple(uses), dropped, bool(outside), moved)
        if conversion is None:
            kept.append(Kept(profile, (Reason("expansion-differs", failure),)))
        else:
            candidates.append(conversion)
    return combine(template, Plan((), tuple(kept), None, False), candidates)


def combine(template: Mapping[str, Any], base: Plan, candidates: list[Conversion]) -> Plan:
    """`base` plus the candidates that, converted together, still give exactly the original (each proven
    alone): one at a time, in template order; one that breaks the set is kept with the reason."""
    has_macro = MACRO in cfn.transform_items(template)
    baseline = deployed(template)
    accepted: list[Conversion] = []
    kept = list(base.kept)
    for candidate in candidates:
        if not accepted:
            accepted.append(candidate)  # proven alone already
            continue
        try:
            together = (*accepted, candidate)
            found = differences(baseline, expand_quietly(apply(template, together)), moved_from(together))
        except InvalidTemplateError as error:
            found = [f"the macro would reject it: {error.summary}"]
        if found:
            others = ", ".join(conversion.profile for conversion in accepted)
            text = f"it converts alone, but not together with {others}: {found[0]}"
            kept.append(Kept(candidate.profile, (Reason("together", text),)))
        else:
            accepted.append(candidate)
    conversions = (*base.conversions, *accepted)
    return Plan(conversions, tuple(kept), base.blocked, bool(conversions) and not has_macro)


def with_transform(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with ProfileExpand appended to its transforms (a plain copy)."""
    result = dict(template)
    existing = cfn.transform_items(template)
    if MACRO not in existing:
        result[TRANSFORM] = [*existing, MACRO] if existing else MACRO
    return result


def deployed(template: Mapping[str, Any]) -> dict[str, Any]:
    """What ProfileExpand hands to CloudFormation: the template itself when it does not use the macro."""
    if MACRO in cfn.transform_items(template):
        return expand_quietly(template)
    return dict(template)


def expand_quietly(template: Mapping[str, Any]) -> dict[str, Any]:
    return expand_with_report(template).template


def apply(template: Mapping[str, Any], conversions: tuple[Conversion, ...]) -> dict[str, Any]:
    """The plain template after the conversions (the same edits the source editor makes in the file)."""
    result = copy.deepcopy(dict(template))
    resources = result[cfn.RESOURCES]
    for conversion in conversions:
        for position, slot in enumerate(conversion.slots):
            _rewrite_slot(result, slot, conversion.value(position))
        for logical_id in conversion.dropped:
            remaining = [
                item for item in depends_on_list(resources[logical_id]) or [] if item != conversion.profile
            ]
            if remaining:
                resources[logical_id][cfn.DEPENDS_ON] = remaining
            else:
                del resources[logical_id][cfn.DEPENDS_ON]
        for logical_id, depends_on in moved_depends_on(result, conversion).items():
            resources[logical_id][cfn.DEPENDS_ON] = depends_on
        del resources[conversion.profile]
    return with_transform(result) if conversions else result


def transform_problems(original: Mapping[str, Any], migrated: Mapping[str, Any]) -> list[str]:
    """The migrated template's Transform must be the original's with ProfileExpand appended, exactly."""
    wanted = cfn.transform_items(with_transform(original))
    written = cfn.transform_items(migrated)
    if written != wanted:
        return [f"its Transform is {written!r}, not {wanted!r}"]
    return []


def _wrapped(value: Any) -> bool:
    return isinstance(value, Mapping) and ROLE_KEY in value


# -- finding the profile's uses ---------------------------------------------------------------------


def _slots(template: Mapping[str, Any]) -> list[Slot]:
    """Every profile property of every site in the template (outside any Fn::If), as the core finds them."""
    found: dict[Path, Slot] = {}
    for leaf in analyse(template, transform_declared=False).found:
        # The model judges a value leaf by leaf (Fn::If branches, {Arn}/{Name}): one slot per property.
        if leaf.kind != SHORTHAND and cfn.FN_IF not in leaf.container:
            path: Path = (cfn.RESOURCES, leaf.logical_id, *leaf.value_path)
            found.setdefault(path, Slot(leaf.logical_id, leaf.site, path, named_by_name(leaf)))
    return list(found.values())


def _form_at(slot: Slot, profile: str, resources: Mapping[str, Any]) -> ProfileForm | None:
    """The form, of those the site accepts, in which the slot names the profile (None: it does not)."""
    if slot.named == profile and ProfileForm.NAME in slot.site.accepts:
        return ProfileForm.NAME  # by its name: the macro writes `!Ref <Profile>`, the same value, ordered
    value = _normalise(_value_at({cfn.RESOURCES: resources}, slot.path))
    return next((form for form in slot.site.accepts if value == form.reference(profile)), None)


def _static_reasons(template: Mapping[str, Any], profile: str, slots: list[Slot]) -> list[Reason]:
    """Why the profile cannot become IamRole, from the template alone (empty: try it)."""
    resources = template[cfn.RESOURCES]
    resource = resources[profile]
    reasons: list[Reason] = []
    extra = [key for key in resource if key not in _CONVERTIBLE_ATTRIBUTES]
    if extra:
        reasons.append(
            Reason(
                "attributes", f"it has {', '.join(map(str, extra))}, which a generated profile does not carry"
            )
        )
    own = depends_on_list(resource)
    implied = _dependencies({cfn.PROPERTIES: resource.get(cfn.PROPERTIES)}, resources)
    unimplied = [name for name in own or [] if name not in implied]
    using = [slot for slot in slots if _form_at(slot, profile, resources) is not None]
    if own is None or (unimplied and _movable_depends_on(template, profile, using) is None):
        shown = ", ".join(unimplied) if own is not None else "in a shape of its own"
        reasons.append(
            Reason(
                "own-depends-on",
                f"its DependsOn {shown} is implied by no reference of it, a generated profile does not "
                "carry one, and it cannot be kept on the resources that use the profile",
            )
        )
    properties = resource.get(cfn.PROPERTIES)
    if not isinstance(properties, Mapping):
        return [*reasons, Reason("roles-shape", "its Properties are not a mapping")]
    other = [key for key in properties if key not in _CONVERTIBLE_PROPERTIES]
    if other:
        reasons.append(
            Reason("properties", f"it sets {', '.join(map(str, other))}, which IamRole cannot express")
        )
    roles = properties.get(cfn.ROLES)
    if isinstance(roles, Mapping) and cfn.FN_IF in roles:
        reasons.append(Reason("roles-fn-if", "its Roles is chosen with Fn::If"))
    elif not isinstance(roles, list) or len(roles) != 1:
        reasons.append(Reason("roles-shape", "its Roles is not a list of exactly one role"))
    elif isinstance(roles[0], Mapping) and cfn.FN_IF in roles[0]:
        reasons.append(Reason("roles-fn-if", "its Roles entry is under Fn::If"))
    site_paths = {slot.path for slot in slots}
    users = {slot.logical_id for slot in slots if _form_at(slot, profile, resources) is not None}
    for path, how in _references(template, profile, ()):
        if path[:2] == (cfn.RESOURCES, profile):
            continue
        where = _readable(path)
        if how == "DependsOn" and path[1] in users and path == (cfn.RESOURCES, path[1], cfn.DEPENDS_ON):
            continue  # the site's reference implies it: that entry goes (Conversion.dropped)
        if how == "DependsOn":
            reasons.append(
                Reason("depends-on", f"it is in the DependsOn of {path[1]}, which names it at no site")
            )
        elif how == "Fn::Sub":
            reasons.append(Reason("fn-sub", f"it is referenced in an Fn::Sub at {where}"))
        elif path and path[0] == "Outputs":
            reasons.append(Reason("outputs", f"it is referenced from Outputs ({where})"))
        elif path[0] == cfn.RESOURCES and _resource_type(resources, path[1]) == _NESTED_STACK:
            reasons.append(Reason("nested-stack", f"it is passed to the nested stack {path[1]} ({where})"))
        elif path[0] != cfn.RESOURCES:
            reasons.append(Reason("other-reference", f"it is referenced from {where}"))
        else:
            reasons.extend(_site_reason(resources, path, profile, site_paths, slots))
    uses = [slot for slot in slots if _form_at(slot, profile, resources) is not None]
    reasons.extend(_condition_reasons(template, profile, uses))
    return list(dict.fromkeys(reasons))


def _site_reason(
    resources: Mapping[str, Any], path: Path, profile: str, site_paths: set[Path], slots: list[Slot]
) -> list[Reason]:
    """A mention inside a resource: fine at a site in the form the macro writes; otherwise a reason."""
    where = _readable(path)
    # The mention may be the site value itself, or inside it ({Arn: !GetAtt P.Arn}, {Name: !Ref P}).
    for slot in slots:
        if path[: len(slot.path)] == slot.path:
            if _form_at(slot, profile, resources) is not None:
                return []
            value = _normalise(_value_at({cfn.RESOURCES: resources}, slot.path))
            if isinstance(value, Mapping) and cfn.FN_IF in value:
                return [Reason("site-fn-if", f"it is chosen with Fn::If at {slot.where}")]
            accepted = ", ".join(form.value for form in slot.site.accepts)
            return [
                Reason(
                    "other-form",
                    f"{slot.where} names it in {_form_of(value, profile)}, which the property does not "
                    f"accept ({accepted})",
                )
            ]
    if cfn.FN_IF in path:
        return [Reason("site-fn-if", f"it is used inside an Fn::If at {where}")]
    return [
        Reason("other-reference", f"it is referenced from {where}, which is not an instance-profile site")
    ]


def _form_of(value: Any, profile: str) -> str:
    for form in ProfileForm:
        if value == form.reference(profile):
            return f"the {form.value} form"
    return "another expression"


def _condition_reasons(template: Mapping[str, Any], profile: str, uses: list[Slot]) -> list[Reason]:
    """The macro gives a profile the condition its sites share: a profile under another one cannot move."""
    resources = template[cfn.RESOURCES]
    own = resources[profile].get(cfn.CONDITION)
    conditions = {resources[slot.logical_id].get(cfn.CONDITION) for slot in uses}
    if not uses:
        return []
    if own is None and None not in conditions:
        names = ", ".join(sorted(str(c) for c in conditions))
        return [Reason("conditions", f"it has no Condition but every site using it is conditional ({names})")]
    if own is not None and conditions != {own}:
        others = ", ".join(sorted("no Condition" if c is None else str(c) for c in conditions if c != own))
        return [
            Reason(
                "conditions",
                f"it is under Condition {own} but sites using it have {others}: conditions its sites do not share",
            )
        ]
    return []


def _resource_type(resources: Mapping[str, Any], logical_id: Any) -> Any:
    resource = resources.get(logical_id)
    return resource.get(cfn.TYPE) if isinstance(resource, Mapping) else None


# -- proving a conversion ---------------------------------------------------------------------------


def _prove(
    template: Mapping[str, Any],
    baseline: Mapping[str, Any],
    profile: str,
    uses: tuple[tuple[Slot, ProfileForm], ...],
    dropped: tuple[str, ...],
    referenced: bool,
    moved: tuple[str, ...] = (),
) -> tuple[Conversion | None, str]:
    """The least IamRole value whose expansion is exactly the original, or the reason there is none.
    referenced: other parts of the template name the profile, so its logical ID must stay."""
    properties = template[cfn.RESOURCES][profile][cfn.PROPERTIES]
    options = {key: properties[key] for key in ("Path", cfn.INSTANCE_PROFILE_NAME) if key in properties}
    role = properties[cfn.ROLES][0]
    slots = tuple(slot for slot, _ in uses)
    forms = tuple(form for _, form in uses)
    last = ""
    for logical_id in (True,) if referenced else (False, True):
        for readiness_off in (False, True):
            profile_options = {**options, **({LOGICAL_ID_KEY: profile} if logical_id else {})}
            value = _iam_role(role, profile_options, readiness_off)
            conversion = Conversion(profile, slots, value, forms, dropped, moved)
            try:
                found = differences(
                    baseline, expand_quietly(apply(template, (conversion,))), moved_from((conversion,))
                )
            except InvalidTemplateError as error:
                found = [f"the macro would reject it: {error.summary}"]
            if not found:
                return conversion, ""
            last = found[0]
    return None, f"expanding it would not give the original back ({last})"


def _iam_role(role: Any, options: Mapping[str, Any], readiness_off: bool) -> Any:
    if not options and not readiness_off:
        return copy.deepcopy(role)
    value: dict[str, Any] = {ROLE_KEY: copy.deepcopy(role)}
    if options:
        value[PROFILE_KEY] = dict(options)
    if readiness_off:
        value[READINESS_KEY] = False
    return value


def _rewrite_slot(template: dict[str, Any], slot: Slot, iam_role: Any) -> None:
    container = _value_at(template, slot.path[:-1])
    if slot.site.kind is SiteKind.OPTION_SETTING:
        container["OptionName"] = cfn.IAM_ROLE_SHORTHAND
        container["Value"] = copy.deepcopy(iam_role)
        return
    items = list(container.items())
    container.clear()
    for key, value in items:
        if key == slot.path[-1]:
            container[cfn.IAM_ROLE_SHORTHAND] = copy.deepcopy(iam_role)
        else:
            container[key] = value
