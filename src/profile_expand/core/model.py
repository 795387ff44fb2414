"""The account of a template that the macro renders from and every cfn-lint rule filters.

analyse() (core.py) produces a Model: every value found at a site of the sites table, classified;
every finding, with its stable code and exact path; and the Plan of what the macro writes. All of it
is frozen: each step of the core takes the previous step's result and returns a new one.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.conditions import ConditionPlan, Requirement
from profile_expand.core.errors import (
    ERROR,
    MACRO_ERROR,
    MACRO_WARNING,
    ROLE_AS_PROFILE,
    SHORTHAND_WITHOUT_TRANSFORM,
    WARNING,
    Finding,
)
from profile_expand.core.index import EMPTY_INDEX, TemplateIndex, branches
from profile_expand.core.profile_options import ProfileOptions
from profile_expand.core.roles import ARN, BUILT, RoleChoice, RoleRef, role_mention
from profile_expand.core.sites import ProfileForm, RoleNameRule, Site, SiteKind, containers, sites_for
from profile_expand.core.syntax import CLOUDFORMATION, Syntax, for_leaf
from profile_expand.core.text import Path

# What a value found at a site is. mistakes.py derives the findings (and the macro's corrections) of the
# kinds beyond SHORTHAND and ROLE from these.
SHORTHAND: Final = "shorthand"  # IamRole: the macro generates the profile
ROLE: Final = "role"  # a role (or role ARN) where the instance profile belongs
PROFILE_WRONG_FORM: Final = (
    "profile-wrong-form"  # a profile of the template, in a form the property does not take
)
PROFILE: Final = "profile"  # a profile of the template, in a form the property takes
ROLE_NAME: Final = "role-name"  # the literal RoleName of a template role (no profile has that name)
UNKNOWN: Final = "unknown"  # a name, a parameter, an import, another intrinsic: nothing to judge
TOO_DEEP: Final = "too-deep"  # an Fn::If nested more than cfn.MAX_IF_DEPTH deep: an error

OPTION_NAME: Final = "OptionName"
OPTION_VALUE: Final = "Value"
OPTION_NAMESPACE: Final = "Namespace"
_OBJECT_KEYS: Final = (("Arn", ProfileForm.ARN), ("Name", ProfileForm.NAME))
_PROFILE_ARN_TEXT: Final = ":instance-profile/"
_DYNAMIC_REFERENCE: Final = "{{resolve:"


class Found(NamedTuple):
    """One value at a site: IamRole shorthand, or one leaf of a profile property's value.

    A profile property is judged leaf by leaf: each branch of an Fn::If, each of {Arn} and {Name}.
    """

    logical_id: str
    site: Site
    container: Path  # the mapping (or Elastic Beanstalk option entry) holding the key
    key: str  # IamRole, the profile property, or "Value" of an option entry
    steps: Path  # below the key's value, to the leaf judged (() for the whole value)
    value: object  # the leaf
    kind: str  # SHORTHAND, ROLE, ROLE_NAME, PROFILE_WRONG_FORM, PROFILE or UNKNOWN
    role: str | None = None  # for ROLE and ROLE_NAME: the template's AWS::IAM::Role it points at, if any
    # For ROLE: REFERENCE, SUB, ARN or BUILT (roles.py). For PROFILE and PROFILE_WRONG_FORM: the form
    # written, "name" or "arn" (ProfileForm values).
    how: str | None = None
    form: ProfileForm | None = None  # the {Arn} / {Name} key the leaf sits under, if any
    profile: str | None = None  # for PROFILE and PROFILE_WRONG_FORM: the template's profile, if known

    @property
    def value_path(self) -> Path:
        """Exact path of the value the macro would rewrite (the whole property, or IamRole)."""
        return (*self.container, self.key)

    @property
    def path(self) -> Path:
        """Exact path of the leaf."""
        return (*self.container, self.key, *self.steps)


class Use(NamedTuple):
    """One site the macro rewrites: it takes its profile from a role choice."""

    logical_id: str
    site: Site
    container: Path  # below the resource, to the mapping (or option-settings entry) to rewrite
    key: str  # the key holding the role today (IamRole, or the profile property itself when corrected)
    choice: RoleChoice
    # Each role the choice may use, with the condition terms under which it is used: the resource's own
    # Condition, the Fn::If branches around the site and inside the choice.
    roles: tuple[tuple[RoleRef, Requirement], ...]
    options: ProfileOptions  # for the profile: the site's own over the template's defaults
    role_rules: tuple[RoleNameRule, ...]  # naming rules the service sets for the role
    readiness: bool  # False: `PermissionReadiness: false` at the site, no DependsOn added for it

    @property
    def path(self) -> Path:
        return (*self.container, self.key)


class InlineRole(NamedTuple):
    """An AWS::IAM::Role generated for one distinct inline definition of one resource."""

    key: str
    logical_id: str
    users: tuple[str, ...]  # sorted
    requirements: frozenset[Requirement]
    condition: ConditionPlan
    properties: dict[str, Any]


class Profile(NamedTuple):
    """The instance profile every use of one role with one set of options shares."""

    role: RoleRef
    options: ProfileOptions
    logical_id: str
    roles_entry: Any  # what its Roles list holds
    users: tuple[str, ...]  # sorted
    requirements: frozenset[Requirement]
    condition: ConditionPlan


class Plan(NamedTuple):
    """What the macro writes: the rewritten sites, generated resources and added dependencies."""

    uses: tuple[Use, ...]
    roles: tuple[InlineRole, ...]  # in the order they were named (resource, digest)
    profiles: tuple[Profile, ...]  # in the order the uses first name them
    depends_on: Mapping[str, list[str]]  # resource -> policies it must wait for


class Correction(NamedTuple):
    """A certain fix: the value at `path` of a resource is replaced by `value`.

    Under the transform the macro writes it and warns with `warning`; otherwise `finding` reports it.
    """

    logical_id: str
    path: Path
    value: Any
    warning: str
    finding: Finding


class Model(NamedTuple):
    """Everything the core knows about a template: sites found, findings, and the plan (if it can expand)."""

    found: tuple[Found, ...]
    findings: tuple[
        Finding, ...
    ]  # errors sorted as the macro reports them, then warnings, then lint findings
    plan: Plan | None  # None when there are errors, or nothing to expand
    # Certain fixes of hand-written values the macro writes (each with its W9002), applied by render().
    corrections: tuple[Correction, ...] = ()

    def with_code(self, code: str) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.code == code)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return self.with_code(MACRO_ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return self.with_code(MACRO_WARNING)


def generated_profile_id(stem: str, label: str = "", suffix: str = "") -> str:
    """A generated profile's logical ID, a public contract: <role stem><options label>InstanceProfile<digest>.

    The plan names profiles with it, and E9001 suggests the ID the macro would give a role's profile.
    """
    return f"{stem}{label}InstanceProfile{suffix}"


# -- finding what a site holds ---------------------------------------------------------------------


# IamRole or the profile property as found in one container of a site, before judging it:
# (container path, key, value, is it IamRole). A plain tuple: one fewer class to build at cold start.
Entry = tuple[Path, str, object, bool]


def entries(site: Site, path: Path, container: object) -> list[Entry]:
    """Every IamRole and profile property in one container of a site, in the order written."""
    found: list[Entry] = []
    if site.kind is SiteKind.OPTION_SETTING:
        if not isinstance(container, list):
            return found
        for position, item in enumerate(container):
            # An entry may sit in an Fn::If branch (the other branch another entry, or AWS::NoValue).
            for entry_path, entry in branches((*path, position), item):
                if not (isinstance(entry, Mapping) and entry.get(OPTION_NAMESPACE) == site.option_namespace):
                    continue
                option = entry.get(OPTION_NAME)
                if option == cfn.IAM_ROLE_SHORTHAND or option == site.profile_property:
                    shorthand = option == cfn.IAM_ROLE_SHORTHAND
                    found.append((entry_path, OPTION_VALUE, entry.get(OPTION_VALUE), shorthand))
    elif type(container) is dict or isinstance(container, Mapping):  # type() first: the ABC check is slow
        if cfn.IAM_ROLE_SHORTHAND in container:
            found.append((path, cfn.IAM_ROLE_SHORTHAND, container[cfn.IAM_ROLE_SHORTHAND], True))
        if site.profile_property in container:
            found.append((path, site.profile_property, container[site.profile_property], False))
    return found


def site_entries(resource: Mapping[str, Any], site: Site) -> list[tuple[Path, list[Entry] | None]]:
    """Each container of one site of a resource (both branches of an Fn::If on the way) and the
    entries in it, or None where Fn::If is nested too deep to look: the one walk of a resource's
    sites, for the core and the guard."""
    return [
        (path, None if cfn.is_fn_if(container) else entries(site, path, container))
        for path, container in containers(resource, site.container, through_fn_if=True)
    ]


def site_values(
    resource_type: str,
    properties: Mapping[str, Any],
    logical_id: str = "",
    index: TemplateIndex = EMPTY_INDEX,
) -> tuple[Found, ...]:
    """Every value at a site of one resource, classified, from its type and (resolved) properties alone:
    what the guard judges of one resource at a time. Without `index`, nothing is a template's resource.

    >>> [leaf.kind for leaf in site_values("AWS::EC2::Instance", {"IamInstanceProfile": "arn:aws:iam::1:role/r"})]
    ['role']
    """
    resource = {cfn.TYPE: resource_type, cfn.PROPERTIES: properties}
    return tuple(
        leaf
        for site in sites_for(resource_type)
        for _, at_site in site_entries(resource, site)
        for entry in at_site or ()
        for leaf in classify(logical_id, site, entry, index)
    )


def classify(logical_id: str, site: Site, entry: Entry, index: TemplateIndex) -> tuple[Found, ...]:
    """What an entry holds: shorthand, or each leaf of a profile property judged on its own."""
    container, key, value, shorthand = entry
    if shorthand:
        return (Found(logical_id, site, container, key, (), value, SHORTHAND),)
    found = []
    for steps, leaf, form in _leaves(site, value, (), None, top=True):
        if cfn.is_fn_if(leaf):  # nested deeper than _leaves looks
            found.append(Found(logical_id, site, container, key, steps, leaf, TOO_DEEP, form=form))
            continue
        kind, role, how, profile = _judge(site, leaf, form, index)
        found.append(Found(logical_id, site, container, key, steps, leaf, kind, role, how, form, profile))
    return tuple(found)


def rejudged(found: tuple[Found, ...], index: TemplateIndex) -> tuple[Found, ...]:
    """The leaves judged again against the index of the template as the macro leaves it: only a leaf
    that named nothing of the template (UNKNOWN) can now name a generated resource."""
    if not index.generated:
        return found
    return tuple(
        _rejudge(leaf, index) if leaf.kind == UNKNOWN and not isinstance(leaf.value, str) else leaf
        for leaf in found
    )


def _rejudge(leaf: Found, index: TemplateIndex) -> Found:
    kind, role, how, profile = _judge(leaf.site, leaf.value, leaf.form, index)
    return leaf._replace(kind=kind, role=role, how=how, profile=profile)


def _leaves(
    site: Site, value: object, steps: Path, form: ProfileForm | None, *, top: bool
) -> Iterator[tuple[Path, object, ProfileForm | None]]:
    """Each value a deployment may use: both branches of an Fn::If, the Arn and Name of an object form."""
    if cfn.is_fn_if(value) and steps.count(cfn.FN_IF) < cfn.MAX_IF_DEPTH:
        assert isinstance(value, dict)
        for position in (1, 2):
            yield from _leaves(site, value[cfn.FN_IF][position], (*steps, cfn.FN_IF, position), form, top=top)
    elif top and site.takes_object and isinstance(value, Mapping) and not cfn.is_intrinsic(value):
        for key, key_form in _OBJECT_KEYS:
            if key in value:
                yield from _leaves(site, value[key], (*steps, key), key_form, top=False)
    else:
        yield steps, value, form


def _judge(
    site: Site, value: object, form: ProfileForm | None, index: TemplateIndex
) -> tuple[str, str | None, str | None, str | None]:
    """(kind, role, how, profile) of one leaf."""
    named = index.named_profile(value)
    if named is not None:
        # A profile's name, however written (its literal name; Ref of the role it is named after): that
        # profile, which the site may not wait for (mistakes.judge says so).
        kind = PROFILE if ProfileForm.NAME in wanted_forms(site, form) else PROFILE_WRONG_FORM
        return kind, None, ProfileForm.NAME.value, named
    mention = role_mention(value, index)
    if mention is not None:
        return ROLE, *mention, None
    wanted = wanted_forms(site, form)
    if isinstance(value, str) and value.startswith(_DYNAMIC_REFERENCE):
        return UNKNOWN, None, None, None  # {{resolve:ssm:...}}: CloudFormation fills it in at deploy time
    if isinstance(value, str) and not value.startswith("arn:"):
        # A literal name. A template role's RoleName is certain to be no profile's name unless a profile
        # of the template has (or, named by an intrinsic, may have) that same name.
        role = index.role_names.get(value)
        profile = index.profile_names.get(value)
        if role is not None and profile is None and not index.profile_names_open:
            return ROLE_NAME, role, None, None
        if ProfileForm.NAME in wanted:
            return (PROFILE if profile else UNKNOWN), None, ProfileForm.NAME.value, profile
        return PROFILE_WRONG_FORM, None, ProfileForm.NAME.value, profile
    written = profile_reference(value, index)
    if written is None:
        return UNKNOWN, None, None, None
    written_form, profile = written
    kind = PROFILE if written_form in wanted else PROFILE_WRONG_FORM
    return kind, None, written_form.value, profile


_PLAIN_FORMS: Final = (ProfileForm.NAME, ProfileForm.ARN)


def wanted_forms(site: Site, form: ProfileForm | None) -> tuple[ProfileForm, ...]:
    """The plain forms a leaf may take: its {Arn}/{Name} key's, or the property's."""
    return (form,) if form is not None else tuple(f for f in site.accepts if f in _PLAIN_FORMS)


def profile_reference(value: object, index: TemplateIndex) -> tuple[ProfileForm, str | None] | None:
    """(NAME or ARN, the template's profile if known) when the value certainly refers to an instance
    profile; None otherwise (a parameter, an import, a literal name: nothing certain)."""
    if isinstance(value, str):
        if value.startswith("arn:") and _PROFILE_ARN_TEXT in value:
            return ProfileForm.ARN, index.profile_names.get(value.rsplit("/", 1)[-1])
        return None
    if not (isinstance(value, dict) and cfn.is_intrinsic(value)):
        return None
    ((function, argument),) = value.items()
    if function == cfn.REF and isinstance(argument, str) and _is_profile(argument, index):
        return ProfileForm.NAME, argument
    if function == cfn.GET_ATT:
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if (
            isinstance(parts, list)
            and len(parts) == 2
            and parts[1] == cfn.ARN_ATTRIBUTE
            and isinstance(parts[0], str)
            and _is_profile(parts[0], index)
        ):
            return ProfileForm.ARN, parts[0]
    if function == cfn.FN_SUB:
        text, variables = argument if isinstance(argument, list) and len(argument) == 2 else (argument, {})
        if not isinstance(text, str):
            return None
        whole = re.fullmatch(r"\$\{([\w:]+)(\.Arn)?\}", text)
        if (
            whole
            and _is_profile(whole[1], index)
            and not (isinstance(variables, Mapping) and whole[1] in variables)
        ):
            return (ProfileForm.ARN if whole[2] else ProfileForm.NAME), whole[1]
        return (ProfileForm.ARN, None) if _PROFILE_ARN_TEXT in text else None
    if function == cfn.FN_JOIN and isinstance(argument, list) and len(argument) == 2:
        delimiter, parts = argument
        if isinstance(delimiter, str) and isinstance(parts, list):
            # Intrinsic parts become a placeholder that cannot complete ":instance-profile/" on its own.
            literal = delimiter.join(part if isinstance(part, str) else "\0" for part in parts)
            if _PROFILE_ARN_TEXT in literal:
                return ProfileForm.ARN, None
    return None


def _is_profile(logical_id: str, index: TemplateIndex) -> bool:
    return index.resource_types.get(logical_id) == cfn.INSTANCE_PROFILE_TYPE


# -- what the lint rules report beyond the macro's own words ---------------------------------------


def role_as_profile(
    found: Found, macro_name: str = cfn.TRANSFORM_NAME, syntax: Syntax = CLOUDFORMATION
) -> Finding:
    """E9001: what is wrong and what to write instead, in the words of the property at hand."""
    message = _role_message(found, macro_name, for_leaf(syntax, found))
    return Finding(ROLE_AS_PROFILE, ERROR, found.logical_id, found.path, message)


def shorthand_without_transform(found: Found, macro_name: str = cfn.TRANSFORM_NAME) -> Finding:
    """W9001: IamRole means nothing to CloudFormation without the transform."""
    site = found.site
    is_option = site.kind is SiteKind.OPTION_SETTING
    where = f"option {cfn.IAM_ROLE_SHORTHAND}" if is_option else cfn.IAM_ROLE_SHORTHAND
    # An option setting's shorthand is its OptionName; a property's is the IamRole key.
    path = (*found.container, OPTION_NAME) if is_option else found.value_path
    return Finding(
        SHORTHAND_WITHOUT_TRANSFORM,
        WARNING,
        found.logical_id,
        path,
        f"{where} is ProfileExpand shorthand, but the template's {cfn.TRANSFORM} does not list "
        f"{macro_name}, so CloudFormation will reject it. Add `{cfn.TRANSFORM}: "
        f"{macro_name}` (listed after AWS::LanguageExtensions and "
        f"AWS::Serverless-2016-10-31 when the template uses them), or write "
        f"{site.profile_property} with an instance profile.",
    )


_FORM_WORDS: Final = {ProfileForm.NAME: "name", ProfileForm.ARN: "ARN"}


def _role_message(found: Found, macro_name: str, syntax: Syntax) -> str:
    site = found.site
    written = syntax.written(found.value)
    form = found.form
    if form is not None:
        where = f"{site.profile_property}.{'Arn' if form is ProfileForm.ARN else 'Name'}"
        takes = f"an instance profile {_FORM_WORDS[form]}"
    else:
        is_option = site.kind is SiteKind.OPTION_SETTING
        where = f"option {site.profile_property}" if is_option else site.profile_property
        words = [_FORM_WORDS[f] for f in (ProfileForm.NAME, ProfileForm.ARN) if f in site.accepts]
        takes = f"an instance profile {' or '.join(words) or 'name'}"
        form = (
            ProfileForm.ARN if site.writes in (ProfileForm.ARN, ProfileForm.ARN_OBJECT) else ProfileForm.NAME
        )
    if syntax.place is not None:
        where = syntax.place(site, found.form)
    if found.role:
        role = found.role
        profile = syntax.profile_for(role)
        reference = syntax.reference(form, profile)
        add = f"{shorthand_advice(site, f'!Ref {role}', macro_name)}; or add" if syntax.shorthand else "Add"
        return (
            f"{written} is role {role} (an {syntax.role_type}), but {where} takes {takes}. "
            f"{add} an {syntax.profile_type} {profile} with "
            f"`{syntax.holds_role(role)}` and write `{reference}` here."
        )
    built = found.how == BUILT
    assert built or found.how == ARN
    what = "builds an IAM role ARN" if built else "is an IAM role ARN"
    example = "<the role's name>" if built else written
    use = f"{shorthand_advice(site, example, macro_name)}; or use" if syntax.shorthand else "Use"
    return (
        f"{written} {what}, but {where} takes {takes}. {use} an instance "
        f"profile that holds the role (an {syntax.profile_type}, or the ARN with :instance-profile/ "
        "in place of :role/ when the profile has the role's name)."
    )


def shorthand_advice(site: Site, role: str, macro_name: str) -> str:
    """The sentence that says how to write the shorthand on this site (macro_name: as deployed)."""
    transform = f"With `{cfn.TRANSFORM}: {macro_name}`"
    if site.kind is SiteKind.OPTION_SETTING:
        return (
            f"{transform}, write this option as `{OPTION_NAME}: {cfn.IAM_ROLE_SHORTHAND}, "
            f"{OPTION_VALUE}: {role}`"
        )
    return f"{transform}, write `{cfn.IAM_ROLE_SHORTHAND}: {role}` in place of {site.profile_property}"
