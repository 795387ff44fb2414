"""Reading a role: what an `IamRole` value names (under which conditions), and spotting a role where an
instance profile belongs. The one place that decides "is this a role?".

An IamRole value parses into a RoleChoice tree: UseRole (one role), NoValue (no profile), or IfChoice
(Fn::If). Parsing is pure: a value that cannot work gives a Rejected carrying every problem found.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias

from profile_expand.core import cfn
from profile_expand.core.index import TemplateIndex
from profile_expand.core.suggest import suggest_role_id
from profile_expand.core.text import (
    Path,
    canonical,
    digest,
    quote,
    short,
    stem,
    stem_of_value,
    unknown_keys_message,
)

# Patterns are strings: re compiles each on first use and caches it, so none costs the cold start.
# IAM's own limits: a role name is 1-64 of [\w+=,.@-]; a role ARN may carry a path before the name.
_ROLE_NAME: Final = r"[\w+=,.@-]{1,64}"
_ROLE_ARN: Final = r"arn:aws[a-z-]*:iam::(?:\d{12})?:role/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]{1,64})"
_PROFILE_ARN: Final = r"arn:aws[a-z-]*:iam::(?:\d{12})?:instance-profile/.+"
# Where a profile belongs, any ARN of a role is a mistake: any partition, an empty or placeholder account.
_ANY_ROLE_ARN: Final = r"arn:[^:]+:iam::[^:]*:role/"
_BUILT_ROLE_ARN: Final = ":role/"
# "${Role}" or "${Role.Arn}": Fn::Sub's short forms of Ref and GetAtt.
_SUB_VARIABLE: Final = r"\$\{(?P<name>[\w:]+)(?:\.Arn)?\}"
# Parameter types whose Ref is a list: never a role name.
_LIST_PARAMETER: Final = r"(CommaDelimitedList|List<.*>|AWS::SSM::Parameter::Value<List<.*>>)"

ACCEPTED_FORMS: Final = (
    "write a role's logical ID, !Ref Role, !GetAtt Role.Arn, a role name or ARN, "
    "!Ref of a parameter holding a role name, or a mapping of role properties"
)
# IamRole as a mapping: either role properties (an inline role) or {Role, Profile}; the key sets are disjoint.
ROLE_DEFINITION_KEYS: Final = (
    "Description",
    "ManagedPolicyArns",
    "MaxSessionDuration",
    "Path",
    "PermissionsBoundary",
    "Policies",
    "RoleName",
    "Tags",
)
ROLE_KEY: Final = "Role"
PROFILE_KEY: Final = "Profile"
# A site option beside Role and Profile: `PermissionReadiness: false` adds no DependsOn at this site.
READINESS_KEY: Final = "PermissionReadiness"
WRAPPER_KEYS: Final = (ROLE_KEY, PROFILE_KEY, READINESS_KEY)
_JSON_TYPE_NAMES: Final = {
    "NoneType": "null",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "list": "list",
}


class RoleRef(NamedTuple):
    """One role, identified so that every site naming the same role shares one profile."""

    key: str  # identity for sharing, e.g. "role:AppRole", "name:ops-role", "param:RoleName"
    roles_entry: Any  # what the profile's Roles list holds (Roles takes role names)
    stem: str  # the readable start of a generated profile's logical ID
    exact_stem: bool  # the stem is a logical ID, unique as it is (no hash suffix needed)
    condition: str | None = None  # Condition of the role resource, if any
    template_role: str | None = None  # logical ID when the role is a resource of this template
    definition: Mapping[str, Any] | None = None  # role properties, when IamRole defines the role inline

    @property
    def digest(self) -> str:
        return digest(self.key)


class UseRole(NamedTuple):
    role: RoleRef


class NoValue(NamedTuple):
    pass


if TYPE_CHECKING:
    _Branch: TypeAlias = "UseRole | NoValue | IfChoice"
else:
    # At run time a branch's annotation must not be a string: NamedTuple would compile it into a
    # ForwardRef, and the first compile of the process costs the Lambda's cold start about 1 ms.
    _Branch = tuple


class IfChoice(NamedTuple):
    condition: str
    when_true: _Branch
    when_false: _Branch


RoleChoice = UseRole | NoValue | IfChoice


class Rejected(NamedTuple):
    """Why a value cannot work: (path below the value, message) for every problem found."""

    problems: tuple[tuple[Path, str], ...]


def _rejected(message: str) -> Rejected:
    return Rejected((((), message),))


# A role a choice may use, with the condition terms (conditions.named / negated texts) of the Fn::If
# branches that lead to it, outermost first. A plain tuple: one fewer class to build at cold start.
RoleUse = tuple[RoleRef, tuple[str, ...]]
_NO_VALUE_CHOICE: Final = NoValue()


# The choice of each template role already made, by logical ID: a memo that the walks of one template's
# sites may share (500 sites naming one role made its choice 500 times).
TemplateRoles = dict[str, UseRole]


class _Walk:
    """What one walk of parse_role carries: the roles it found used, and the template roles' choices."""

    __slots__ = ("made", "used")

    def __init__(self, made: TemplateRoles) -> None:
        self.used: list[RoleUse] = []
        self.made = made


def parse_role(
    value: object, index: TemplateIndex, *, owner: str, made: TemplateRoles | None = None
) -> tuple[RoleChoice, tuple[RoleUse, ...]] | Rejected:
    """The role choice an IamRole value makes and each role it may use (with the branch conditions that
    lead there), in branch order, or every reason it cannot work. One walk of the value gives both: a
    chain of Fn::If 31 deep was walked once to parse and again to list its roles.

    owner: the logical ID of the resource whose IamRole this is; a role defined inline belongs to it.
    made: the template roles' choices made by earlier walks of this template (filled in as found).
    """
    walk = _Walk({} if made is None else made)
    choice = _parse(value, index, owner, 0, (), walk)
    return choice if isinstance(choice, Rejected) else (choice, tuple(walk.used))


def _parse(
    value: object, index: TemplateIndex, owner: str, depth: int, terms: tuple[str, ...], walk: _Walk
) -> RoleChoice | Rejected:
    """parse_role's walk: `terms` are the branch conditions around `value`; each role found is added to
    `walk.used` (whatever it holds is meaningless once the walk gives a Rejected)."""
    choice: RoleChoice | Rejected
    # A one-key mapping first: the intrinsic that nearly every value is (and a deep Fn::If chain is
    # nothing else) is told apart by its key alone.
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == cfn.FN_IF:
            return _parse_if(argument, value, index, owner, depth, terms, walk)
        if function == cfn.REF:
            if argument == cfn.NO_VALUE:
                return _NO_VALUE_CHOICE
            choice = _parse_ref(argument, value, index, walk.made)
        elif function == cfn.GET_ATT:
            choice = _parse_get_att(argument, value, index, walk.made)
        else:
            choice = _parse_other(value, index, owner, walk.made)
    else:
        choice = _parse_other(value, index, owner, walk.made)
    if type(choice) is UseRole:
        walk.used.append((choice.role, terms))
    return choice


def _parse_if(
    argument: object,
    value: object,
    index: TemplateIndex,
    owner: str,
    depth: int,
    terms: tuple[str, ...],
    walk: _Walk,
) -> RoleChoice | Rejected:
    if depth >= cfn.MAX_IF_DEPTH:
        return _rejected(cfn.TOO_DEEP_IF)
    if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
        return _rejected(f"{quote(value)}: Fn::If takes [ConditionName, ValueIfTrue, ValueIfFalse].")
    condition, when_true, when_false = argument
    branch_terms = index.condition_terms.get(condition)
    if branch_terms is None:
        return _rejected(f"{quote(value)}: condition {short(condition)} is not defined in Conditions.")
    # AWS::NoValue, the usual other branch, is told without a call.
    true_choice = (
        _NO_VALUE_CHOICE
        if when_true == cfn.NO_VALUE_REF
        else _parse(when_true, index, owner, depth + 1, (*terms, branch_terms[0]), walk)
    )
    false_choice = (
        _NO_VALUE_CHOICE
        if when_false == cfn.NO_VALUE_REF
        else _parse(when_false, index, owner, depth + 1, (*terms, branch_terms[1]), walk)
    )
    if type(true_choice) is Rejected or type(false_choice) is Rejected:
        # Both branches are read, so that every problem is reported at once.
        return Rejected(
            tuple(
                ((cfn.FN_IF, branch, *path), message)
                for branch, choice in ((1, true_choice), (2, false_choice))
                if isinstance(choice, Rejected)
                for path, message in choice.problems
            )
        )
    # tuple.__new__: NamedTuple's own __new__ is a Python function, and this runs at every level of a chain.
    return tuple.__new__(IfChoice, (condition, true_choice, false_choice))


def _parse_other(
    value: object, index: TemplateIndex, owner: str, made: TemplateRoles
) -> RoleChoice | Rejected:
    """Every value that is not Fn::If: a string, an intrinsic, a mapping of role properties, or no role."""
    if isinstance(value, str):
        return _parse_string(value, index, made)
    if isinstance(value, dict) and cfn.is_intrinsic(value):
        # Ref, Fn::GetAtt and Fn::If were told apart by _parse.
        ((function, argument),) = value.items()
        if function == cfn.CONDITION:
            return _rejected(f"{quote(value)} is a condition, not a role; {ACCEPTED_FORMS}.")
        return _parse_other_intrinsic(function, argument, value)
    if isinstance(value, dict):
        return _parse_definition(value, owner)
    kind = _JSON_TYPE_NAMES.get(type(value).__name__, type(value).__name__)
    return _rejected(f"{quote(value)} is a {short(kind)}, not a role; {ACCEPTED_FORMS}.")


def _parse_definition(value: dict[Any, Any], owner: str) -> RoleChoice | Rejected:
    """IamRole as a mapping of role properties: a role trusting EC2 is generated for it."""
    if not value:
        return _rejected(f"an empty mapping defines no role; {ACCEPTED_FORMS}.")
    if any(key in WRAPPER_KEYS for key in value):
        return _rejected(
            f"{quote(value)}: Role and Profile go directly under IamRole (outside any Fn::If), "
            "and role properties go under Role."
        )
    unknown = [key for key in value if key not in ROLE_DEFINITION_KEYS]
    if unknown:
        return _rejected(unknown_keys_message(unknown, ROLE_DEFINITION_KEYS, "an inline role"))
    key = _identity(value)
    if isinstance(key, Rejected):
        return key
    # The resource is part of the identity: an inline role belongs to the resource that defines it, so an
    # equal definition on another resource never merges with it (nor renames it when added or removed).
    return UseRole(
        RoleRef(key=f"inline:{owner}:{key}", roles_entry=None, stem="", exact_stem=True, definition=value)
    )


def _identity(value: object) -> str | Rejected:
    """The canonical text that makes two equal values share one role."""
    try:
        return canonical(value)
    except ValueError:
        return _rejected(f"{quote(value)} is not a plain JSON value.")


def _template_role(role_id: str, index: TemplateIndex, made: TemplateRoles) -> UseRole:
    choice = made.get(role_id)
    if choice is None:
        choice = UseRole(
            RoleRef(
                key=f"role:{role_id}",
                roles_entry=cfn.ref(role_id),
                stem=role_id,
                exact_stem=True,
                condition=index.resource_conditions.get(role_id),
                template_role=role_id,
            )
        )
        made[role_id] = choice
    return choice


def _named_role(name: str) -> UseRole:
    return UseRole(RoleRef(key=f"name:{name}", roles_entry=name, stem=stem(name), exact_stem=False))


def _not_a_role(target: str, index: TemplateIndex, written: str) -> Rejected:
    kind = index.resource_types[target]
    if kind == cfn.INSTANCE_PROFILE_TYPE:
        return _rejected(
            f"{written} names {short(target)}, which is already an instance profile, not a role: "
            f"drop IamRole and set the profile property to !Ref {short(target)} (or its ARN, as the property needs).",
        )
    return _rejected(
        f"{written} names {short(target)}, of type {short(kind)}, not an {cfn.IAM_ROLE_TYPE}; {ACCEPTED_FORMS}."
    )


def _parse_string(text: str, index: TemplateIndex, made: TemplateRoles) -> RoleChoice | Rejected:
    if text.startswith("arn:"):
        match = re.fullmatch(_ROLE_ARN, text)
        if match:
            return _named_role(match.group("name"))
        if re.fullmatch(_PROFILE_ARN, text):
            return _rejected(
                f"{quote(text)} is an instance profile ARN, not a role: "
                "write it in the profile property itself instead of IamRole."
            )
        return _rejected(f"{quote(text)} is not an IAM role ARN; {ACCEPTED_FORMS}.")
    if text in index.resource_types:
        if index.resource_types[text] == cfn.IAM_ROLE_TYPE:
            return _template_role(text, index, made)
        return _not_a_role(text, index, quote(text))
    if text in index.parameter_types:
        return _rejected(
            f"{quote(text)} is the name of a parameter: write !Ref {short(text)} to use its value "
            f"(to use an existing IAM role literally named {short(text)}, write its ARN)."
        )
    if text in index.role_names:
        # A template role's RoleName: that role, referenced (the profile then waits for it).
        return _template_role(index.role_names[text], index, made)
    suggestion = suggest_role_id(text, index)
    if suggestion:
        return _rejected(
            f"{quote(text)} is not a logical ID of this template. Did you mean {short(suggestion)}? "
            f"(To use an existing IAM role named {short(text)}, write its ARN.)"
        )
    if not re.fullmatch(_ROLE_NAME, text):
        return _rejected(
            f"{quote(text)} is not a valid IAM role name (1-64 letters, digits and +=,.@_-); {ACCEPTED_FORMS}."
        )
    return _named_role(text)


def _parse_ref(
    target: object, value: object, index: TemplateIndex, made: TemplateRoles
) -> RoleChoice | Rejected:
    if not isinstance(target, str):
        return _rejected(f"{quote(value)}: Ref takes a logical ID string.")
    if target in index.resource_types:
        if index.resource_types[target] == cfn.IAM_ROLE_TYPE:
            return _template_role(target, index, made)
        return _not_a_role(target, index, quote(value))
    if target in index.parameter_types:
        parameter_type = index.parameter_types[target]
        if re.fullmatch(_LIST_PARAMETER, parameter_type):
            return _rejected(
                f"{quote(value)} refers to parameter {short(target)} of type {short(parameter_type)}, a list; "
                "a role name is a single String."
            )
        return UseRole(
            RoleRef(key=f"param:{target}", roles_entry=cfn.ref(target), stem=target, exact_stem=True)
        )
    if target.startswith("AWS::"):
        return _rejected(f"{quote(value)} is a pseudo parameter, not a role; {ACCEPTED_FORMS}.")
    suggestion = suggest_role_id(target, index)
    hint = f" Did you mean {short(suggestion)}?" if suggestion else ""
    return _rejected(
        f"{quote(value)} refers to {short(target)}, which is neither a resource nor a parameter of this template.{hint}"
    )


def _parse_get_att(
    argument: object, value: object, index: TemplateIndex, made: TemplateRoles
) -> RoleChoice | Rejected:
    if isinstance(argument, str) and "." in argument:
        target, attribute = argument.split(".", 1)
    elif (
        isinstance(argument, list)
        and len(argument) == 2
        and isinstance(argument[0], str)
        and isinstance(argument[1], str)
    ):
        target, attribute = argument
    else:
        return _rejected(f"{quote(value)}: Fn::GetAtt takes [LogicalId, Attribute].")
    kind = index.resource_types.get(target)
    if kind is None:
        suggestion = suggest_role_id(target, index)
        hint = f" Did you mean {short(suggestion)}?" if suggestion else ""
        return _rejected(f"{quote(value)}: {short(target)} is not a resource of this template.{hint}")
    if kind != cfn.IAM_ROLE_TYPE:
        return _not_a_role(target, index, quote(value))
    if attribute != cfn.ARN_ATTRIBUTE:
        return _rejected(
            f"{quote(value)}: the {short(attribute)} attribute does not name a role; write !Ref {short(target)} "
            f"or !GetAtt {short(target)}.Arn."
        )
    return _template_role(target, index, made)


def _parse_other_intrinsic(function: str, argument: object, value: object) -> RoleChoice | Rejected:
    if function == cfn.FN_SUB:
        text = argument[0] if isinstance(argument, list) and argument else argument
        if isinstance(text, str) and (text.startswith("arn:") or ":role/" in text):
            return _rejected(
                f"{quote(value)} builds an ARN, but a profile's Roles takes role names: "
                "write the role name (the last part of the ARN) instead."
            )
    key = _identity(value)
    if isinstance(key, Rejected):
        return key
    # Any other intrinsic (Fn::ImportValue, Fn::Sub, Fn::FindInMap, ...) is passed through as the name.
    return UseRole(RoleRef(key=f"expr:{key}", roles_entry=value, stem=stem_of_value(value), exact_stem=False))


# A role found where an instance profile belongs: (the template's AWS::IAM::Role it points at, if any;
# how it is written: REFERENCE (Ref / GetAtt Arn), SUB ("${Role}"), ARN (a literal role ARN) or BUILT
# (an ARN assembled by Fn::Sub / Fn::Join)). A plain tuple: one fewer class to build at cold start.
RoleMention = tuple[str | None, str]
REFERENCE: Final = "reference"
SUB: Final = "sub"
ARN: Final = "arn"
BUILT: Final = "built"


def role_mention(value: object, index: TemplateIndex) -> RoleMention | None:
    """The role a value names, when it names one: the one test of "is this a role?" outside IamRole."""
    if isinstance(value, str):
        return (None, ARN) if re.match(_ANY_ROLE_ARN, value) else None
    if not (isinstance(value, dict) and cfn.is_intrinsic(value)):
        return None
    ((function, argument),) = value.items()
    target: object = None
    if function == cfn.REF:
        target = argument
    elif function == cfn.GET_ATT:
        if isinstance(argument, str) and argument.endswith("." + cfn.ARN_ATTRIBUTE):
            target = argument[: -len(cfn.ARN_ATTRIBUTE) - 1]
        elif isinstance(argument, list) and len(argument) == 2 and argument[1] == cfn.ARN_ATTRIBUTE:
            target = argument[0]
    elif function == cfn.FN_SUB:
        return _sub_mention(argument, index)
    elif function == cfn.FN_JOIN and isinstance(argument, list) and len(argument) == 2:
        delimiter, parts = argument
        if isinstance(delimiter, str) and isinstance(parts, list):
            # Intrinsic parts become a placeholder that cannot complete ":role/" on its own.
            literal = delimiter.join(part if isinstance(part, str) else "\0" for part in parts)
            return (None, BUILT) if _BUILT_ROLE_ARN in literal else None
    if isinstance(target, str) and index.resource_types.get(target) == cfn.IAM_ROLE_TYPE:
        return (target, REFERENCE)
    return None


def _sub_mention(argument: object, index: TemplateIndex) -> RoleMention | None:
    text, variables = argument, {}
    if isinstance(argument, list) and len(argument) == 2:
        text, variables = argument[0], argument[1]
    if not isinstance(text, str):
        return None
    whole = re.fullmatch(_SUB_VARIABLE, text)
    if (
        whole
        and index.resource_types.get(whole["name"]) == cfn.IAM_ROLE_TYPE
        and not (isinstance(variables, Mapping) and whole["name"] in variables)
    ):
        return (whole["name"], SUB)
    return (None, BUILT) if _BUILT_ROLE_ARN in text else None


def template_role_in(value: object, index: TemplateIndex) -> str | None:
    """The role logical ID when `value` is Ref / GetAtt Arn of an AWS::IAM::Role of the template."""
    mention = role_mention(value, index)
    return mention[0] if mention is not None and mention[1] == REFERENCE else None


def role_arn_mention(value: object, index: TemplateIndex) -> RoleMention | None:
    """The role a value gives by its ARN, where a role name belongs (an instance profile's Roles).

    !Ref Role and "${Role}" are the name, and fine; !GetAtt Role.Arn, "${Role.Arn}", a literal role ARN
    and an Fn::Sub / Fn::Join building one are ARNs.
    """
    mention = role_mention(value, index)
    if mention is None or mention[1] in (ARN, BUILT):
        return mention
    assert isinstance(value, dict)
    ((function, argument),) = value.items()
    if function == cfn.GET_ATT:
        return mention
    if function == cfn.FN_SUB:
        text = argument[0] if isinstance(argument, list) else argument
        return mention if isinstance(text, str) and text.endswith("." + cfn.ARN_ATTRIBUTE + "}") else None
    return None
