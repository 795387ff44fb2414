"""What only the account knows: whether a name at a site is an instance profile, a role, or nothing.

The guard (a CloudFormation hook) asks IAM through the Iam interface and judges the answers here, in the
words of the template judgements (mistakes.py, trust.py, inline_roles.py), so one mistake reads the same
whether the linter, the macro or the guard finds it.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import re
from typing import Final, NamedTuple, Protocol

from profile_expand.core import cfn
from profile_expand.core.errors import (
    ERROR,
    PROFILE_NOT_FOUND,
    ROLE_EC2_CANNOT_ASSUME,
    ROLE_NAME_AS_PROFILE,
    SERVICE_NAME_RULE,
    Finding,
)
from profile_expand.core.inline_roles import ROLE_PATH, satisfies
from profile_expand.core.mistakes import DEPLOY_FAILS, UNTRUSTED, where
from profile_expand.core.model import PROFILE, UNKNOWN, Found, shorthand_advice, wanted_forms
from profile_expand.core.sites import ProfileForm
from profile_expand.core.syntax import CLOUDFORMATION, Syntax, for_leaf
from profile_expand.core.text import quote, short

# IAM's pattern for a profile or role name (GetInstanceProfile takes the name without its path).
_IAM_NAME: Final = r"[A-Za-z0-9_+=,.@-]{1,128}"
_PROFILE_ARN_TEXT: Final = ":instance-profile/"
_DYNAMIC_REFERENCE: Final = "{{resolve:"


class RoleFacts(NamedTuple):
    """An IAM role as GetRole (or GetInstanceProfile) describes it."""

    name: str
    path: str
    trust: object  # AssumeRolePolicyDocument: decoded by boto3, or its JSON text


class ProfileFacts(NamedTuple):
    """An instance profile as GetInstanceProfile describes it."""

    name: str
    path: str
    roles: tuple[RoleFacts, ...]


class Iam(Protocol):
    """What the guard asks IAM. Each answers None for NoSuchEntity, and raises GuardUnavailable when IAM
    cannot answer (access denied, throttled, timed out): that is never the template's fault."""

    def instance_profile(self, name: str) -> ProfileFacts | None: ...

    def role(self, name: str) -> RoleFacts | None: ...


class Asked(NamedTuple):
    """The profile a leaf names: its name, and the path, partition and account its ARN gives (None for a
    plain name)."""

    name: str
    path: str | None
    partition: str | None = None
    account: str | None = None


class Home(NamedTuple):
    """The account and partition the guard judges in (from its own function's ARN); "" when unknown."""

    partition: str
    account: str


# A profile ARN: arn:<partition>:iam::<account>:instance-profile/<path/>name
_PROFILE_ARN: Final = re.compile(r"arn:([^:]*):iam::([^:]*):instance-profile/(.*)", re.DOTALL)


def asked(found: Found) -> Asked | None:
    """The instance profile IAM must be asked about for this leaf, or None when the template judgements
    already decide it (a role ARN, a profile in the wrong form) or nothing literal is there to ask about."""
    value = found.value
    if found.kind not in (UNKNOWN, PROFILE) or found.profile is not None or not isinstance(value, str):
        return None
    if value.startswith(_DYNAMIC_REFERENCE):
        return None
    if value.startswith("arn:"):
        if _PROFILE_ARN_TEXT not in value:
            return None
        arn = _PROFILE_ARN.fullmatch(value)
        if arn is None:
            return Asked(value, None)  # not an IAM ARN at all: askable() says so
        partition, account, rest = arn.groups()
        within, _, name = rest.rpartition("/")
        return Asked(name, f"/{within}/" if within else "/", partition, account)
    if ProfileForm.NAME not in wanted_forms(found.site, found.form):
        return None
    return Asked(value, None)


def unaskable(found: Found, name: Asked, home: Home | None = None) -> tuple[Finding, ...]:
    """The findings for a name no instance profile of this account can have, so IAM need not be asked: a
    name IAM cannot hold (a space, a slash, over 128 characters), or an ARN of another account or partition.
    Empty when IAM must be asked."""
    value = quote(found.value)
    if not re.fullmatch(_IAM_NAME, name.name):
        return (
            _finding(
                PROFILE_NOT_FOUND,
                found,
                f"{value} can name no instance profile: IAM names are 1 to 128 letters, digits and "
                f"`_+=,.@-`, but {where(found)} takes an instance profile. Write the name of a profile that "
                "exists (its path goes only in its ARN).",
            ),
        )
    for part, theirs, ours in (
        ("account", name.account, home.account if home else ""),
        ("partition", name.partition, home.partition if home else ""),
    ):
        if theirs is not None and ours and theirs != ours:
            return (
                _finding(
                    PROFILE_NOT_FOUND,
                    found,
                    f"{value} is an instance profile of {part} {quote(theirs)}, not of this one "
                    f"({quote(ours)}), but {where(found)} takes an instance profile: EC2 attaches only "
                    "profiles of the instance's own account. Write the ARN or name of a profile of this account.",
                ),
            )
    return ()


def may_still_appear(profile: ProfileFacts | None) -> bool:
    """Whether IAM's answer may only be late (IAM is eventually consistent): no profile yet (a role of the
    name may be visible first), or a profile whose role has not been added yet. Asking again may differ."""
    return profile is None or not profile.roles


def judge_in_account(
    found: Found,
    name: Asked,
    profile: ProfileFacts | None,
    role: RoleFacts | None,
    macro_name: str = cfn.TRANSFORM_NAME,
    syntax: Syntax = CLOUDFORMATION,
) -> tuple[Finding, ...]:
    """The findings IAM's answers give for one leaf: a role where a profile belongs, no such profile, a
    profile EC2 cannot use, a service's naming rule broken. `role` is GetRole of the same name, asked only
    when there is no such profile."""
    syntax = for_leaf(syntax, found)
    site, value = found.site, syntax.written(found.value)
    takes = f"{where(found, syntax)} takes an instance profile"
    if profile is None and role is not None:
        add = f"{shorthand_advice(site, role.name, macro_name)}; or add" if syntax.shorthand else "Add"
        return (
            _finding(
                ROLE_NAME_AS_PROFILE,
                found,
                f"{value} is the name of IAM role {short(role.name)} in this account, which has no instance "
                f"profile of that name, but {takes}: {DEPLOY_FAILS}. Write the name of an instance profile "
                "that holds the role (a role made in the console has one of its own name; one made by code "
                f"has none). {add} an {syntax.profile_type} with `{syntax.holds_named_role(short(role.name))}`.",
            ),
        )
    if profile is None:
        return (
            _finding(
                PROFILE_NOT_FOUND,
                found,
                f"{value} names no instance profile of this account: IAM has no instance profile "
                f"{short(name.name)} (nor a role of that name), but {takes}. Create the profile first, or "
                "write the name of one that exists.",
            ),
        )
    if name.path is not None and name.path != profile.path:
        return (
            _finding(
                PROFILE_NOT_FOUND,
                found,
                f"{value} is no instance profile of this account: profile {short(profile.name)} exists, but "
                f"at path {quote(profile.path)}, not {quote(name.path)}. Write its ARN with that path.",
            ),
        )
    return (*_roles_of(found, profile, syntax), *_naming_rules(found, profile))


def _roles_of(found: Found, profile: ProfileFacts, syntax: Syntax) -> tuple[Finding, ...]:
    named = f"{syntax.written(found.value)} names instance profile {short(profile.name)}"
    if not profile.roles:
        return (
            _finding(
                ROLE_EC2_CANNOT_ASSUME,
                found,
                f"{named}, which holds no role: the deploy succeeds and the instance gets no credentials. "
                f"Add a role trusting EC2 to the profile ({syntax.roles_key}).",
            ),
        )
    # Imported here, as mistakes.py does: its patterns compile at import, and a cold start that judges no
    # existing profile need not pay for them.
    from profile_expand.core.trust import Trust, ec2_trust

    return tuple(
        _finding(
            ROLE_EC2_CANNOT_ASSUME,
            found,
            f"{named}, whose role {short(role.name)} is what EC2 instances get, but {UNTRUSTED}",
        )
        for role in profile.roles
        if ec2_trust(role.trust) is Trust.NOT_EC2
    )


def _naming_rules(found: Found, profile: ProfileFacts) -> tuple[Finding, ...]:
    site = found.site
    rule = site.role_name_rule
    # A rule that holds only when another role carries a managed policy (ECS managed instances) stays
    # undecided: the guard may not read that role's policies (its permissions are read-only on profiles
    # and roles by name, nothing more).
    if rule is None or site.role_name_rule_when is not None:
        return ()
    return tuple(
        _finding(
            SERVICE_NAME_RULE,
            found,
            f"{site.resource_type} needs the role in instance profile {short(profile.name)} to have "
            f"{rule.describe()}, but its role {short(role.name)} has path {quote(role.path)}: use a profile "
            "whose role is named as the service requires.",
        )
        for role in profile.roles
        if satisfies({cfn.ROLE_NAME: role.name, ROLE_PATH: role.path}, rule) is False
    )


def _finding(code: str, found: Found, message: str) -> Finding:
    return Finding(code, ERROR, found.logical_id, found.path, message)
