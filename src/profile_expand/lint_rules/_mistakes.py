"""The role-where-a-profile-belongs mistake: finding it in a profile property's value, and the message.

Kept out of the rule's file because cfn-lint loads rule files outside sys.modules, where dataclasses
cannot be defined.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand import cfn
from profile_expand.errors import InvalidTemplateError
from profile_expand.lint_rules import _sites
from profile_expand.roles import quote
from profile_expand.sites import ProfileForm, Site, SiteKind

# arn:<partition>:iam::<account>:role/<path/name>; the account may be empty or a placeholder.
_ROLE_ARN: Final = re.compile(r"arn:[^:]+:iam::[^:]*:role/")
_BUILT_ROLE_ARN: Final = ":role/"
# "${Role}" or "${Role.Arn}": Fn::Sub's short forms of Ref and GetAtt.
_SUB_VARIABLE: Final = re.compile(r"\$\{(?P<name>[\w:]+)(?:\.Arn)?\}")
_OBJECT_KEYS: Final = {"Arn": ProfileForm.ARN, "Name": ProfileForm.NAME}
_FORM_WORDS: Final = {ProfileForm.NAME: "name", ProfileForm.ARN: "ARN"}


@dataclass(frozen=True)
class Finding:
    path: _sites.Path  # below the resource, to the value holding the role
    value: Any
    role_id: str | None  # the template's AWS::IAM::Role, when the value points at one
    built: bool  # an ARN assembled by Fn::Sub / Fn::Join rather than written out
    leaf_form: ProfileForm | None  # the Arn / Name key of an object form, None for a plain property


def findings(site: Site, value: Any, path: _sites.Path, roles: frozenset[str]) -> Iterator[Finding]:
    """Every place in a profile property's value that holds a role instead of an instance profile."""
    if _sites.is_fn_if(value):
        for position in (1, 2):
            branch = value[cfn.FN_IF][position]
            yield from findings(site, branch, (*path, cfn.FN_IF, position), roles)
        return
    takes_object = any(form in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT) for form in site.accepts)
    if takes_object and isinstance(value, Mapping) and not cfn.is_intrinsic(value):
        for key, form in _OBJECT_KEYS.items():
            if key in value:
                yield from _leaf_findings(value[key], (*path, key), roles, form)
        return
    yield from _leaf_findings(value, path, roles, None)


def _leaf_findings(
    value: Any, path: _sites.Path, roles: frozenset[str], leaf_form: ProfileForm | None
) -> Iterator[Finding]:
    if _sites.is_fn_if(value):
        for position in (1, 2):
            branch = value[cfn.FN_IF][position]
            yield from _leaf_findings(branch, (*path, cfn.FN_IF, position), roles, leaf_form)
        return
    role_id, built = _role_in(value, roles)
    if role_id or built or (isinstance(value, str) and _ROLE_ARN.match(value)):
        yield Finding(path, value, role_id, built, leaf_form)


def _role_in(value: Any, roles: frozenset[str]) -> tuple[str | None, bool]:
    """(template role it points at, whether it builds a role ARN) for an intrinsic function value."""
    if not (isinstance(value, Mapping) and cfn.is_intrinsic(value)):
        return None, False
    ((function, argument),) = value.items()
    if function == cfn.REF:
        return (argument if isinstance(argument, str) and argument in roles else None), False
    if function == cfn.GET_ATT:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if isinstance(argument, list) and len(argument) == 2 and argument[1] == cfn.ARN_ATTRIBUTE:
            target = argument[0]
            return (target if isinstance(target, str) and target in roles else None), False
        return None, False
    if function == cfn.FN_SUB:
        text, variables = argument, {}
        if isinstance(argument, list) and len(argument) == 2:
            text, variables = argument[0], argument[1]
        if not isinstance(text, str):
            return None, False
        whole = _SUB_VARIABLE.fullmatch(text)
        if (
            whole
            and whole["name"] in roles
            and not (isinstance(variables, Mapping) and whole["name"] in variables)
        ):
            return whole["name"], False
        return None, _BUILT_ROLE_ARN in text
    if function == cfn.FN_JOIN and isinstance(argument, list) and len(argument) == 2:
        delimiter, parts = argument
        if isinstance(delimiter, str) and isinstance(parts, list):
            # Intrinsic parts become a placeholder that cannot complete ":role/" on its own.
            literal = delimiter.join(part if isinstance(part, str) else "\0" for part in parts)
            return None, _BUILT_ROLE_ARN in literal
    return None, False


def message(site: Site, finding: Finding) -> str:
    """What is wrong and what to write instead, in the words of the property at hand."""
    written = quote(finding.value)
    form = finding.leaf_form
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

    if finding.role_id:
        role = finding.role_id
        profile = f"{role}InstanceProfile"
        reference = f"!Ref {profile}" if form is ProfileForm.NAME else f"!GetAtt {profile}.Arn"
        return (
            f"{written} is role {role} (an {cfn.IAM_ROLE_TYPE}), but {where} takes {takes}. "
            f"{_shorthand(site, f'!Ref {role}')}; or add an {cfn.INSTANCE_PROFILE_TYPE} {profile} with "
            f"`{cfn.ROLES}: [!Ref {role}]` and write `{reference}` here."
        )
    what = "builds an IAM role ARN" if finding.built else "is an IAM role ARN"
    example = "<the role's name>" if finding.built else written
    return (
        f"{written} {what}, but {where} takes {takes}. {_shorthand(site, example)}; or use an instance "
        f"profile that holds the role (an {cfn.INSTANCE_PROFILE_TYPE}, or the ARN with :instance-profile/ "
        "in place of :role/ when the profile has the role's name)."
    )


def _shorthand(site: Site, role: str) -> str:
    """The sentence that says how to write the shorthand on this site."""
    transform = f"With `{cfn.TRANSFORM}: {cfn.TRANSFORM_NAME}`"
    if site.kind is SiteKind.OPTION_SETTING:
        return (
            f"{transform}, write this option as `{_sites.OPTION_NAME}: {cfn.IAM_ROLE_SHORTHAND}, "
            f"{_sites.OPTION_VALUE}: {role}`"
        )
    return f"{transform}, write `{cfn.IAM_ROLE_SHORTHAND}: {role}` in place of {site.profile_property}"


def template_roles(template: Template) -> frozenset[str]:
    """Logical IDs of the template's AWS::IAM::Role resources."""
    resources = template.template.get(cfn.RESOURCES)
    if not isinstance(resources, Mapping):
        return frozenset()
    return frozenset(
        logical_id
        for logical_id, resource in resources.items()
        if isinstance(resource, Mapping) and resource.get(cfn.TYPE) == cfn.IAM_ROLE_TYPE
    )


def corrected_by_macro(template: Template) -> dict[str, list[_sites.Path]]:
    """Paths the ProfileExpand transform will rewrite from a role to a profile (it warns at each)."""
    if not _sites.has_transform(template):
        return {}
    result = _sites.expansion(template)
    if isinstance(result, InvalidTemplateError):
        return {}
    corrected: dict[str, list[_sites.Path]] = {}
    for warning in result.warnings:
        corrected.setdefault(warning.logical_id, []).append(warning.path)
    return corrected
