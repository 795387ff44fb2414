"""The instance-profile mistakes beyond a role passed as a profile, judged once from the model's account.

judge() reads the values found at sites (model.Found), the IamRole uses and the template's own profiles
and roles, and gives each mistake as a finding with its stable code, or, for what is certain and the
macro may fix, as a Correction: under `Transform: ProfileExpand` the macro writes it (with a W9002
warning); without the transform it stays a finding. The cfn-lint rules only filter these findings.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Iterator, Mapping
from typing import Any, Final

from profile_expand.core import cfn
from profile_expand.core.errors import (
    ERROR,
    PROFILE_ARN_AS_NAME,
    PROFILE_NAME_AS_ARN,
    PROFILE_UNORDERED,
    ROLE_ARN_IN_PROFILE,
    ROLE_EC2_CANNOT_ASSUME,
    ROLE_NAME_AS_PROFILE,
    SERVICE_NAME_RULE,
    SERVICE_NAME_RULE_UNCERTAIN,
    WARNING,
    Finding,
)
from profile_expand.core.index import RoleEntry, TemplateIndex
from profile_expand.core.inline_roles import carries_policy, satisfies
from profile_expand.core.model import (
    PROFILE,
    PROFILE_WRONG_FORM,
    ROLE_NAME,
    Correction,
    Found,
    Use,
    shorthand_advice,
    wanted_forms,
)
from profile_expand.core.readiness import references
from profile_expand.core.roles import (
    ARN,
    REFERENCE,
    SUB,
    role_arn_mention,
    role_mention,
    template_role_in,
)
from profile_expand.core.sites import ProfileForm, RoleNameRule, Site, SiteKind, containers
from profile_expand.core.syntax import CLOUDFORMATION, Syntax, for_leaf
from profile_expand.core.text import Path, format_path, quote, short

_TRUST_DOCUMENT: Final = "AssumeRolePolicyDocument"
_EC2_STATEMENT: Final = (
    "{Effect: Allow, Principal: {Service: !Sub 'ec2.${AWS::URLSuffix}'}, Action: sts:AssumeRole}"
)
_FORM_WORDS: Final = {ProfileForm.NAME: "name", ProfileForm.ARN: "ARN"}
# E9007's diagnosis and fix, said the same way of a template's role and of a role in the account (account.py).
UNTRUSTED: Final = (
    "its trust policy does not allow the EC2 service principal sts:AssumeRole: the deploy succeeds and "
    f"the instance gets no credentials. Add the statement `{_EC2_STATEMENT}`."
)
# What a role where a profile belongs does at deploy time (E9006 here, and in account.py).
DEPLOY_FAILS: Final = "deploys fail with 'Invalid IAM Instance Profile name'"


# (findings, corrections). A plain tuple: one fewer class to build at cold start.
Judgement = tuple[tuple[Finding, ...], tuple[Correction, ...]]


def judge(
    found: tuple[Found, ...],
    uses: tuple[Use, ...],
    index: TemplateIndex,
    *,
    lint: bool = True,
    macro_name: str = cfn.TRANSFORM_NAME,
    syntax: Syntax = CLOUDFORMATION,
) -> Judgement:
    """Every mistake of the catalogue in one template: findings, and the certain ones as corrections.

    lint=False leaves out what only the lint rules report (the macro's run needs the corrections alone).
    """
    findings: list[Finding] = []
    corrections: list[Correction] = []
    for leaf in found:
        if leaf.kind == PROFILE_WRONG_FORM:
            _wrong_form(leaf, findings, corrections, for_leaf(syntax, leaf))
        elif leaf.kind == PROFILE and leaf.profile is not None:
            _unordered(leaf, index, corrections, for_leaf(syntax, leaf))
        elif leaf.kind == ROLE_NAME and lint:
            findings.append(_role_by_name(leaf, macro_name, for_leaf(syntax, leaf)))
    for logical_id, role_entries in index.profile_roles.items():
        _roles_by_arn(logical_id, role_entries, index, findings, corrections, syntax)
    if lint:
        used = _used_profiles(found)
        findings.extend(_untrusted_roles(used, uses, index))
        findings.extend(_naming_rules(found, used, index))
    unique = dict.fromkeys(findings)  # one finding per place and message, in the order found
    return tuple(unique), tuple(corrections)


def where(found: Found, syntax: Syntax = CLOUDFORMATION) -> str:
    """The property as the author wrote it: IamInstanceProfile.Arn, option IamInstanceProfile, ..."""
    site = found.site
    if syntax.place is not None:
        return syntax.place(site, found.form)
    if found.form is not None:
        return f"{site.profile_property}.{'Arn' if found.form is ProfileForm.ARN else 'Name'}"
    return (
        f"option {site.profile_property}" if site.kind is SiteKind.OPTION_SETTING else site.profile_property
    )


def _finding(code: str, logical_id: str, path: Path, message: str) -> Finding:
    return Finding(code, WARNING if code.startswith("W") else ERROR, logical_id, path, message)


# -- a profile in the form the property does not take -------------------------------------------------


def _wrong_form(found: Found, findings: list[Finding], corrections: list[Correction], syntax: Syntax) -> None:
    wanted_any = wanted_forms(found.site, found.form)
    if len(wanted_any) != 1:
        # A plain value where only {Arn}/{Name} objects go: cfn-lint's schema check reports that shape.
        return
    (wanted,) = wanted_any
    written = _FORM_WORDS[ProfileForm.ARN if wanted is ProfileForm.NAME else ProfileForm.NAME]
    code = PROFILE_ARN_AS_NAME if wanted is ProfileForm.NAME else PROFILE_NAME_AS_ARN
    value, profile = found.value, found.profile
    fix: Any = None
    if profile is not None and not (isinstance(value, str) and wanted is ProfileForm.NAME):
        fix = wanted.reference(profile)
        shown = syntax.reference(wanted, profile)
        what = f"is the {written} of instance profile {short(profile)}"
    elif isinstance(value, str) and wanted is ProfileForm.NAME and value.rsplit("/", 1)[-1]:
        fix = shown = value.rsplit("/", 1)[-1]
        what = "is an instance profile ARN"
    elif wanted is ProfileForm.NAME:
        shown = "the profile's name (the last part of the ARN; !Ref of a template profile)"
        what = "builds an instance profile ARN"
    else:
        shown = "!GetAtt <profile>.Arn, or !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/<name>'"
        what = "is an instance profile name" if isinstance(value, str) else "gives an instance profile name"
    takes = f"{where(found, syntax)} takes an instance profile {_FORM_WORDS[wanted]}"
    message = f"{syntax.written(value)} {what}, but {takes}: write `{shown}`."
    finding = _finding(code, found.logical_id, found.path, message)
    if fix is None:
        findings.append(finding)
        return
    warning = (
        f"{quote(value)} {what}, but {takes}; ProfileExpand wrote `{shown}` in its place. "
        "Write that to make this explicit."
    )
    corrections.append(Correction(found.logical_id, found.path, fix, warning, finding))


# -- a profile named where nothing orders the site after it --------------------------------------------


def _unordered(found: Found, index: TemplateIndex, corrections: list[Correction], syntax: Syntax) -> None:
    """A template profile named by its name (literal, or Ref of the role it is named after) or literal
    ARN, by a resource that neither references it nor depends on it: CloudFormation may create that
    resource first, and it fails ("profile does not exist"). The profile's own reference orders it."""
    profile = found.profile
    assert profile is not None
    if profile in index.generated or profile in references(index.resources.get(found.logical_id)):
        return
    written = ProfileForm.ARN if found.how == ProfileForm.ARN.value else ProfileForm.NAME
    shown = syntax.reference(written, profile)
    what = (
        f"{syntax.written(found.value)} is the {_FORM_WORDS[written]} of instance profile {short(profile)}, but "
        f"nothing orders {short(found.logical_id)} after it"
    )
    message = (
        f"{what}: {syntax.engine} may create {short(found.logical_id)} first, and it fails (the profile "
        f"does not exist yet). Write `{shown}` (or add `{syntax.depends_on(short(profile))}`)."
    )
    warning = (
        f"{what}; ProfileExpand wrote `{shown}` (the same {_FORM_WORDS[written]}, now ordered) in its place."
    )
    finding = _finding(PROFILE_UNORDERED, found.logical_id, found.path, message)
    corrections.append(Correction(found.logical_id, found.path, written.reference(profile), warning, finding))


# -- a role's literal name where a profile belongs ----------------------------------------------------


def _role_by_name(found: Found, macro_name: str, syntax: Syntax) -> Finding:
    site, role = found.site, found.role or ""
    profile = syntax.profile_for(role)
    wanted = wanted_forms(site, found.form)
    reference = syntax.reference(ProfileForm.NAME if ProfileForm.NAME in wanted else ProfileForm.ARN, profile)
    add = f"{shorthand_advice(site, f'!Ref {role}', macro_name)}; or add" if syntax.shorthand else "Add"
    message = (
        f"{syntax.written(found.value)} is the RoleName of role {short(role)}, and no instance profile of this "
        f"template has that name, but {where(found, syntax)} takes an instance profile "
        f"{' or '.join(_FORM_WORDS[f] for f in wanted) or 'object ({Arn: ...} or {Name: ...})'}: "
        f"{DEPLOY_FAILS}. {add} an {syntax.profile_type} {profile} "
        f"with `{syntax.holds_role(role)}` and write `{reference}` here."
    )
    return _finding(ROLE_NAME_AS_PROFILE, found.logical_id, found.path, message)


# -- a profile's Roles holding an ARN -----------------------------------------------------------------


def _roles_by_arn(
    logical_id: str,
    role_entries: tuple[RoleEntry, ...],
    index: TemplateIndex,
    findings: list[Finding],
    corrections: list[Correction],
    syntax: Syntax,
) -> None:
    for path, entry in role_entries:
        mention = role_arn_mention(entry, index)
        if mention is None:
            continue
        role, how = mention
        fix: Any = None
        if role is not None and how in (REFERENCE, SUB):
            fix, shown = cfn.ref(role), syntax.role_reference(role)
            what = f"is the ARN of role {short(role)}"
        elif how == ARN and isinstance(entry, str):
            shown, what = entry.rsplit("/", 1)[-1], "is a role ARN"
        else:
            shown, what = "the role's name (the last part of the ARN)", "builds a role ARN"
        message = (
            f"{syntax.written(entry)} {what}, but an instance profile's {syntax.roles_key} takes role names "
            f"(deploys fail: the RoleName does not match IAM's name pattern): write `{shown}`."
        )
        finding = _finding(ROLE_ARN_IN_PROFILE, logical_id, path, message)
        if fix is None:
            findings.append(finding)
            continue
        warning = (
            f"{quote(entry)} {what}, but {cfn.ROLES} takes role names; ProfileExpand wrote `{shown}` "
            "in its place. Write that to make this explicit."
        )
        corrections.append(Correction(logical_id, path, fix, warning, finding))


# -- a role EC2 cannot assume -------------------------------------------------------------------------


def _used_profiles(found: tuple[Found, ...]) -> dict[str, Found]:
    """Each profile of the template used at a site -> its first use."""
    used: dict[str, Found] = {}
    for leaf in found:
        if leaf.kind in (PROFILE, PROFILE_WRONG_FORM) and leaf.profile is not None:
            used.setdefault(leaf.profile, leaf)
    return used


def _template_roles_of(profile: str, index: TemplateIndex) -> Iterator[str]:
    """The template's roles in a profile's Roles: by Ref, GetAtt Arn, Fn::Sub or their literal RoleName."""
    for _, entry in index.profile_roles.get(profile, ()):
        mention = role_mention(entry, index)
        if mention is not None and mention[0] is not None:
            yield mention[0]
        elif isinstance(entry, str) and entry in index.role_names:
            yield index.role_names[entry]


def _untrusted_roles(
    used: Mapping[str, Found], uses: tuple[Use, ...], index: TemplateIndex
) -> Iterator[Finding]:
    users: dict[str, str] = {}  # role -> how an instance gets it
    for profile, leaf in used.items():
        for role in _template_roles_of(profile, index):
            users.setdefault(
                role,
                f"instance profile {short(profile)} (used by {short(leaf.logical_id)} at "
                f"{format_path(leaf.path)})",
            )
    for use in uses:
        for role_ref, _ in use.roles:
            if role_ref.template_role is not None:
                users.setdefault(
                    role_ref.template_role,
                    f"{cfn.IAM_ROLE_SHORTHAND} of {short(use.logical_id)} at {format_path(use.path)}",
                )
    if not users:
        return
    # Imported here: most templates have no role to judge, and the Lambda's cold start need not pay for it.
    from profile_expand.core.trust import Trust, ec2_trust

    for role, user in users.items():
        if role in index.generated:
            continue  # a role the macro generates trusts EC2
        document = index.role_properties[role].get(_TRUST_DOCUMENT)
        if ec2_trust(document) is not Trust.NOT_EC2:
            continue  # EC2 is trusted, or an intrinsic leaves it open: never guess
        yield _finding(
            ROLE_EC2_CANNOT_ASSUME,
            role,
            (cfn.PROPERTIES, _TRUST_DOCUMENT),
            f"role {short(role)} is what EC2 instances get through {user}, but {UNTRUSTED}",
        )


# -- services' naming rules for hand-written profiles -------------------------------------------------


def site_role_rules(
    resource: Mapping[str, Any], site: Site, index: TemplateIndex
) -> tuple[tuple[RoleNameRule, ...], bool]:
    """The site's naming rules for the role inside its profile, as they apply to this resource; and
    whether it stays undecided (the rule holds only if a role outside the template carries a policy)."""
    rule, when = site.role_name_rule, site.role_name_rule_when
    if rule is None:
        return (), False
    if when is None:
        return (rule,), False
    related = next((value for _, value in containers(resource, when.role_property)), None)
    related_role = template_role_in(related, index)
    if related_role is not None and related_role not in index.generated:
        carried = carries_policy(index.role_properties[related_role], when.policy_name)
        return ((rule,) if carried else ()), False
    return (), related is not None


def _naming_rules(
    found: tuple[Found, ...], used: Mapping[str, Found], index: TemplateIndex
) -> Iterator[Finding]:
    for leaf in found:
        site = leaf.site
        if leaf.kind not in (PROFILE, PROFILE_WRONG_FORM) and leaf.how is None:
            continue
        if site.profile_name_prefix:
            yield from _profile_name_rule(leaf, site.profile_name_prefix, index)
        if leaf.profile is None or used.get(leaf.profile) != leaf:
            continue
        rules, _ = site_role_rules(index.resources[leaf.logical_id], site, index)
        for rule in rules:
            for role in dict.fromkeys(_template_roles_of(leaf.profile, index)):
                yield from _role_name_rule(leaf, role, rule, index)


def _profile_name_rule(leaf: Found, prefix: str, index: TemplateIndex) -> Iterator[Finding]:
    """A service's prefix for the profile's own name (RDS Custom: AWSRDSCustom)."""
    need = f"{leaf.site.resource_type} needs an instance profile whose name starts with {prefix}"
    if leaf.profile in index.generated:
        return  # the macro gives the profiles it generates the prefix
    if leaf.profile is None:
        # A literal name or profile ARN: the name is what it says.
        if isinstance(leaf.value, str):
            name = leaf.value.rsplit("/", 1)[-1]
            if not name.startswith(prefix):
                yield _finding(
                    SERVICE_NAME_RULE,
                    leaf.logical_id,
                    leaf.path,
                    f"{need}, but {quote(leaf.value)} names {quote(name)}: use a profile named {prefix}...",
                )
        return
    properties = index.resources[leaf.profile].get(cfn.PROPERTIES)
    written = properties.get(cfn.INSTANCE_PROFILE_NAME) if isinstance(properties, Mapping) else None
    user = f"{short(leaf.logical_id)} uses it at {format_path(leaf.path)}"
    if written is None:
        yield _finding(
            SERVICE_NAME_RULE_UNCERTAIN,
            leaf.profile,
            (cfn.PROPERTIES,) if isinstance(properties, Mapping) else (),
            f"{need} ({user}), but this profile has no {cfn.INSTANCE_PROFILE_NAME}: CloudFormation names "
            f"it <stack name>-{short(leaf.profile)}-<random>, which starts with {prefix} only if the stack "
            f"name does. Set `{cfn.INSTANCE_PROFILE_NAME}: !Sub '{prefix}-${{AWS::StackName}}'`.",
        )
    elif isinstance(written, str) and not written.startswith(prefix):
        yield _finding(
            SERVICE_NAME_RULE,
            leaf.profile,
            (cfn.PROPERTIES, cfn.INSTANCE_PROFILE_NAME),
            f"{need} ({user}), but its {cfn.INSTANCE_PROFILE_NAME} is {quote(written)}: rename it to start "
            f"with {prefix}.",
        )


def _role_name_rule(leaf: Found, role: str, rule: RoleNameRule, index: TemplateIndex) -> Iterator[Finding]:
    """A service's rule for the role inside a hand-written profile (ECS managed instances, PCS, RDS)."""
    properties = index.role_properties[role]
    verdict = satisfies(properties, rule)
    need = (
        f"{leaf.site.resource_type} needs the role in instance profile {short(leaf.profile)} (used by "
        f"{short(leaf.logical_id)} at {format_path(leaf.path)}) to have {rule.describe()}"
    )
    if verdict is False:
        yield _finding(
            SERVICE_NAME_RULE,
            role,
            (cfn.PROPERTIES, cfn.ROLE_NAME),
            f"{need}, but role {short(role)} has RoleName {quote(properties.get(cfn.ROLE_NAME))}: rename it.",
        )
    elif verdict is None and cfn.ROLE_NAME not in properties:
        yield _finding(
            SERVICE_NAME_RULE_UNCERTAIN,
            role,
            (cfn.PROPERTIES,),
            f"{need}, but role {short(role)} has no RoleName, so its generated name may not match: set "
            f"RoleName (or Path) as the service requires.",
        )
