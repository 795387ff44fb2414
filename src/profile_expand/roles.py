"""Reading an `IamRole` value: which role it names, and under which conditions.

A value parses into a RoleChoice tree: UseRole (one role), NoValue (no profile), or IfChoice (Fn::If).
Problems are appended to an error list, never raised, so that every problem is reported at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from profile_expand import cfn
from profile_expand.errors import TemplateError

Path = tuple[str | int, ...]

# IAM's own limits: a role name is 1-64 of [\w+=,.@-]; a role ARN may carry a path before the name.
_ROLE_NAME: Final = re.compile(r"[\w+=,.@-]{1,64}")
_ROLE_ARN: Final = re.compile(
    r"arn:aws[a-z-]*:iam::(?:\d{12})?:role/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]{1,64})"
)
_PROFILE_ARN: Final = re.compile(r"arn:aws[a-z-]*:iam::(?:\d{12})?:instance-profile/.+")
# Parameter types whose Ref is a list: never a role name.
_LIST_PARAMETER: Final = re.compile(r"(CommaDelimitedList|List<.*>|AWS::SSM::Parameter::Value<List<.*>>)")
_TYPO_CUTOFF: Final = 0.85
MAX_LOGICAL_ID: Final = 255
# Fn::If inside Fn::If: deeper than this is no template a person wrote (and would exhaust the stack).
MAX_IF_DEPTH: Final = 32
_QUOTE_LIMIT: Final = 160

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


class IfChoice(NamedTuple):
    condition: str
    when_true: RoleChoice
    when_false: RoleChoice


RoleChoice = UseRole | NoValue | IfChoice


class TemplateIndex(NamedTuple):
    """What the parser needs to know about the template (read once)."""

    resource_types: Mapping[str, str]
    resource_conditions: Mapping[str, str]
    parameter_types: Mapping[str, str]
    condition_names: frozenset[str]

    @property
    def role_ids(self) -> list[str]:
        return sorted(lid for lid, kind in self.resource_types.items() if kind == cfn.IAM_ROLE_TYPE)


def digest(text: str) -> str:
    """Eight hex characters naming `text` stably across runs and releases."""
    import hashlib  # imported on first use: OpenSSL's import is a measurable part of a cold start

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _close_matches(word: str, candidates: list[str] | tuple[str, ...], cutoff: float) -> list[str]:
    import difflib  # only error messages need it: kept out of the Lambda's cold start

    return difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)


def short(name: object, limit: int = 80) -> str:
    """An identifier for a message, cut short: logical IDs are at most 255 characters, input may not be."""
    text = str(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote(value: object) -> str:
    """A short JSON rendering of a user's value for messages; never fails, even on deep nesting."""
    text = _render(value, depth=0)
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 3] + "..."


def _render(value: object, depth: int) -> str:
    if depth > 4:
        return "..."
    if isinstance(value, dict):
        items = list(value.items())[:4]
        body = ", ".join(f"{json.dumps(str(k))}: {_render(v, depth + 1)}" for k, v in items)
        return "{" + body + (", ..." if len(value) > 4 else "") + "}"
    if isinstance(value, list):
        body = ", ".join(_render(v, depth + 1) for v in value[:4])
        return "[" + body + (", ..." if len(value) > 4 else "") + "]"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= _QUOTE_LIMIT else value[:_QUOTE_LIMIT])
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return repr(type(value).__name__)


def canonical(value: object) -> str:
    """Stable text of a JSON value, for identity; raises ValueError when it has no such text."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, RecursionError) as error:
        raise ValueError("not a plain JSON value") from error


def stem_of_value(value: object) -> str:
    """stem() of a literal, or of an intrinsic's arguments without the function names."""
    if isinstance(value, str):
        return stem(value)
    return stem(re.sub(r"Fn::\w+|\bRef\b", "", canonical(value)))


def stem(text: str, limit: int = 48) -> str:
    """A readable logical-ID start from arbitrary text: "ops-instance-role" -> "OpsInstanceRole"."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "".join(word[:1].upper() + word[1:] for word in words)[:limit] or "Role"


class RoleParser:
    """Parses IamRole values of one template, appending problems to `errors`."""

    def __init__(self, index: TemplateIndex, errors: list[TemplateError]) -> None:
        self.index = index
        self.errors = errors

    def _error(self, logical_id: str, path: Path, message: str) -> None:
        self.errors.append(TemplateError(logical_id, path, message))

    def parse(self, value: object, logical_id: str, path: Path, depth: int = 0) -> RoleChoice | None:
        """The role choice an IamRole value makes, or None after recording why it cannot work."""
        if isinstance(value, str):
            return self._parse_string(value, logical_id, path)
        if isinstance(value, dict) and cfn.is_intrinsic(value):
            ((function, argument),) = value.items()
            if function == cfn.REF:
                return self._parse_ref(argument, value, logical_id, path)
            if function == cfn.GET_ATT:
                return self._parse_get_att(argument, value, logical_id, path)
            if function == cfn.FN_IF:
                return self._parse_if(argument, value, logical_id, path, depth)
            if function == cfn.CONDITION:
                self._error(logical_id, path, f"{quote(value)} is a condition, not a role; {ACCEPTED_FORMS}.")
                return None
            return self._parse_other_intrinsic(function, argument, value, logical_id, path)
        if isinstance(value, dict):
            return self._parse_definition(value, logical_id, path)
        kind = _JSON_TYPE_NAMES.get(type(value).__name__, type(value).__name__)
        self._error(logical_id, path, f"{quote(value)} is a {short(kind)}, not a role; {ACCEPTED_FORMS}.")
        return None

    def _parse_definition(self, value: dict[Any, Any], logical_id: str, path: Path) -> RoleChoice | None:
        """IamRole as a mapping of role properties: a role trusting EC2 is generated for it."""
        if not value:
            self._error(logical_id, path, f"an empty mapping defines no role; {ACCEPTED_FORMS}.")
            return None
        if any(key in WRAPPER_KEYS for key in value):
            self._error(
                logical_id,
                path,
                f"{quote(value)}: Role and Profile go directly under IamRole (outside any Fn::If), "
                "and role properties go under Role.",
            )
            return None
        unknown = [key for key in value if key not in ROLE_DEFINITION_KEYS]
        if unknown:
            self._error(
                logical_id, path, unknown_keys_message(unknown, ROLE_DEFINITION_KEYS, "an inline role")
            )
            return None
        key = self._identity(value, logical_id, path)
        if key is None:
            return None
        # The resource is part of the identity: an inline role belongs to the resource that defines it, so
        # an equal definition on another resource never merges with it (nor renames it when added or removed).
        return UseRole(
            RoleRef(
                key=f"inline:{logical_id}:{key}", roles_entry=None, stem="", exact_stem=True, definition=value
            )
        )

    def _identity(self, value: object, logical_id: str, path: Path) -> str | None:
        """The canonical text that makes two equal values share one role, or None (reported)."""
        try:
            return canonical(value)
        except ValueError:
            self._error(logical_id, path, f"{quote(value)} is not a plain JSON value.")
            return None

    def _template_role(self, role_id: str) -> UseRole:
        return UseRole(
            RoleRef(
                key=f"role:{role_id}",
                roles_entry=cfn.ref(role_id),
                stem=role_id,
                exact_stem=True,
                condition=self.index.resource_conditions.get(role_id),
                template_role=role_id,
            )
        )

    def _named_role(self, name: str) -> UseRole:
        return UseRole(RoleRef(key=f"name:{name}", roles_entry=name, stem=stem(name), exact_stem=False))

    def _not_a_role(self, target: str, logical_id: str, path: Path, written: str) -> None:
        kind = self.index.resource_types[target]
        if kind == cfn.INSTANCE_PROFILE_TYPE:
            self._error(
                logical_id,
                path,
                f"{written} names {short(target)}, which is already an instance profile, not a role: "
                f"drop IamRole and set the profile property to !Ref {short(target)} (or its ARN, as the property needs).",
            )
        else:
            self._error(
                logical_id,
                path,
                f"{written} names {short(target)}, of type {short(kind)}, not an {cfn.IAM_ROLE_TYPE}; {ACCEPTED_FORMS}.",
            )

    def _parse_string(self, text: str, logical_id: str, path: Path) -> RoleChoice | None:
        index = self.index
        if text.startswith("arn:"):
            match = _ROLE_ARN.fullmatch(text)
            if match:
                return self._named_role(match.group("name"))
            if _PROFILE_ARN.fullmatch(text):
                self._error(
                    logical_id,
                    path,
                    f"{quote(text)} is an instance profile ARN, not a role: "
                    "write it in the profile property itself instead of IamRole.",
                )
            else:
                self._error(logical_id, path, f"{quote(text)} is not an IAM role ARN; {ACCEPTED_FORMS}.")
            return None
        if text in index.resource_types:
            if index.resource_types[text] == cfn.IAM_ROLE_TYPE:
                return self._template_role(text)
            self._not_a_role(text, logical_id, path, quote(text))
            return None
        if text in index.parameter_types:
            self._error(
                logical_id,
                path,
                f"{quote(text)} is the name of a parameter: write !Ref {short(text)} to use its value "
                f"(to use an existing IAM role literally named {short(text)}, write its ARN).",
            )
            return None
        suggestion = self._suggest(text)
        if suggestion:
            self._error(
                logical_id,
                path,
                f"{quote(text)} is not a logical ID of this template. Did you mean {short(suggestion)}? "
                f"(To use an existing IAM role named {short(text)}, write its ARN.)",
            )
            return None
        if not _ROLE_NAME.fullmatch(text):
            self._error(
                logical_id,
                path,
                f"{quote(text)} is not a valid IAM role name (1-64 letters, digits and +=,.@_-); {ACCEPTED_FORMS}.",
            )
            return None
        return self._named_role(text)

    def _suggest(self, text: str) -> str | None:
        if len(text) > MAX_LOGICAL_ID:  # no logical ID is that long; and difflib would take its time
            return None
        roles = self.index.role_ids
        for role_id in roles:
            if role_id.lower() == text.lower():
                return role_id
        close = _close_matches(text, roles, _TYPO_CUTOFF)
        return close[0] if close else None

    def _parse_ref(self, target: object, value: object, logical_id: str, path: Path) -> RoleChoice | None:
        index = self.index
        if not isinstance(target, str):
            self._error(logical_id, path, f"{quote(value)}: Ref takes a logical ID string.")
            return None
        if target == cfn.NO_VALUE:
            return NoValue()
        if target in index.resource_types:
            if index.resource_types[target] == cfn.IAM_ROLE_TYPE:
                return self._template_role(target)
            self._not_a_role(target, logical_id, path, quote(value))
            return None
        if target in index.parameter_types:
            parameter_type = index.parameter_types[target]
            if _LIST_PARAMETER.fullmatch(parameter_type):
                self._error(
                    logical_id,
                    path,
                    f"{quote(value)} refers to parameter {short(target)} of type {short(parameter_type)}, a list; "
                    "a role name is a single String.",
                )
                return None
            return UseRole(
                RoleRef(key=f"param:{target}", roles_entry=cfn.ref(target), stem=target, exact_stem=True)
            )
        if target.startswith("AWS::"):
            self._error(
                logical_id, path, f"{quote(value)} is a pseudo parameter, not a role; {ACCEPTED_FORMS}."
            )
            return None
        suggestion = self._suggest(target)
        hint = f" Did you mean {short(suggestion)}?" if suggestion else ""
        self._error(
            logical_id,
            path,
            f"{quote(value)} refers to {short(target)}, which is neither a resource nor a parameter of this template.{hint}",
        )
        return None

    def _parse_get_att(
        self, argument: object, value: object, logical_id: str, path: Path
    ) -> RoleChoice | None:
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
            self._error(logical_id, path, f"{quote(value)}: Fn::GetAtt takes [LogicalId, Attribute].")
            return None
        kind = self.index.resource_types.get(target)
        if kind is None:
            suggestion = self._suggest(target)
            hint = f" Did you mean {short(suggestion)}?" if suggestion else ""
            self._error(
                logical_id, path, f"{quote(value)}: {short(target)} is not a resource of this template.{hint}"
            )
            return None
        if kind != cfn.IAM_ROLE_TYPE:
            self._not_a_role(target, logical_id, path, quote(value))
            return None
        if attribute != cfn.ARN_ATTRIBUTE:
            self._error(
                logical_id,
                path,
                f"{quote(value)}: the {short(attribute)} attribute does not name a role; write !Ref {short(target)} "
                f"or !GetAtt {short(target)}.Arn.",
            )
            return None
        return self._template_role(target)

    def _parse_if(
        self, argument: object, value: object, logical_id: str, path: Path, depth: int
    ) -> RoleChoice | None:
        if depth >= MAX_IF_DEPTH:
            self._error(logical_id, path, f"Fn::If is nested more than {MAX_IF_DEPTH} levels deep here.")
            return None
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            self._error(
                logical_id, path, f"{quote(value)}: Fn::If takes [ConditionName, ValueIfTrue, ValueIfFalse]."
            )
            return None
        condition, when_true, when_false = argument
        if condition not in self.index.condition_names:
            self._error(
                logical_id,
                path,
                f"{quote(value)}: condition {short(condition)} is not defined in Conditions.",
            )
            return None
        true_choice = self.parse(when_true, logical_id, (*path, cfn.FN_IF, 1), depth + 1)
        false_choice = self.parse(when_false, logical_id, (*path, cfn.FN_IF, 2), depth + 1)
        if true_choice is None or false_choice is None:
            return None
        return IfChoice(condition, true_choice, false_choice)

    def _parse_other_intrinsic(
        self, function: str, argument: object, value: object, logical_id: str, path: Path
    ) -> RoleChoice | None:
        if function == cfn.FN_SUB:
            text = argument[0] if isinstance(argument, list) and argument else argument
            if isinstance(text, str) and (text.startswith("arn:") or ":role/" in text):
                self._error(
                    logical_id,
                    path,
                    f"{quote(value)} builds an ARN, but a profile's Roles takes role names: "
                    "write the role name (the last part of the ARN) instead.",
                )
                return None
        key = self._identity(value, logical_id, path)
        if key is None:
            return None
        # Any other intrinsic (Fn::ImportValue, Fn::Sub, Fn::FindInMap, ...) is passed through as the name.
        return UseRole(
            RoleRef(key=f"expr:{key}", roles_entry=value, stem=stem_of_value(value), exact_stem=False)
        )


def unknown_keys_message(unknown: list[Any], known: tuple[str, ...], what: str) -> str:
    """ "Foo is not a key of X (did you mean Bar?); X takes A, B, C." """
    parts = []
    for key in unknown:
        close = _close_matches(str(key), known, 0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        parts.append(f"{quote(key)}{hint}")
    extra = ""
    if "AssumeRolePolicyDocument" in unknown:
        extra = (
            " An inline role always trusts EC2; for another trust policy, define an AWS::IAM::Role resource."
        )
    return f"{', '.join(parts)} is not a key of {what}, which takes {', '.join(known)}.{extra}"


def template_role_in(value: object, index: TemplateIndex) -> str | None:
    """The role logical ID when `value` is Ref / GetAtt Arn of an AWS::IAM::Role of the template."""
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
    if isinstance(target, str) and index.resource_types.get(target) == cfn.IAM_ROLE_TYPE:
        return target
    return None
