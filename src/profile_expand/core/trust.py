"""Can EC2 assume this role? Reading an AssumeRolePolicyDocument without resolving intrinsics.

A role inside an instance profile must trust the EC2 service principal with sts:AssumeRole, or the
instance silently gets no credentials. The answer is EC2, NOT_EC2 (certain from literal text) or UNKNOWN
(an intrinsic leaves it open): callers report NOT_EC2 as an error and never guess on UNKNOWN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Final

from profile_expand.core import cfn


class Trust(Enum):
    EC2 = "ec2"
    NOT_EC2 = "not-ec2"
    UNKNOWN = "unknown"


# ec2.amazonaws.com, and ec2.amazonaws.com.cn in the China partition (the URL suffix differs there).
_EC2_PRINCIPAL: Final = re.compile(r"ec2\.amazonaws\.com(\.cn)?")
_LONGEST_EC2_PRINCIPAL: Final = "ec2.amazonaws.com.cn"
_URL_SUFFIX_PARAMETER: Final = "AWS::URLSuffix"
_URL_SUFFIX: Final = "amazonaws.com"
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}!]*)\}")
# Stands for a part of a name that an intrinsic fills in at deploy time.
_UNKNOWN_PART: Final = "\0"
_ASSUME_ROLE: Final = re.compile(r"(sts:(AssumeRole|\*)|\*)", re.IGNORECASE)
_STATEMENT: Final = "Statement"


def ec2_trust(document: object) -> Trust:
    """Whether a trust policy lets EC2 assume the role.

    >>> ec2_trust({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    ...                           "Action": "sts:AssumeRole"}]})
    <Trust.EC2: 'ec2'>
    >>> ec2_trust({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    ...                           "Action": "sts:AssumeRole"}]})
    <Trust.NOT_EC2: 'not-ec2'>
    """
    if isinstance(document, str):
        # IAM accepts the document as a JSON string too.
        try:
            document = json.loads(document)
        except ValueError:
            return Trust.UNKNOWN
    if (branches := _if_branches(document)) is not None:
        return _either(ec2_trust(branch) for branch in branches)
    if not isinstance(document, Mapping) or cfn.is_intrinsic(document):
        return Trust.UNKNOWN
    return _statements(document.get(_STATEMENT))


def _statements(statements: object) -> Trust:
    if (branches := _if_branches(statements)) is not None:
        return _either(_statements(branch) for branch in branches)
    if isinstance(statements, Mapping) and not cfn.is_intrinsic(statements):
        statements = [statements]
    if not isinstance(statements, list):
        return Trust.UNKNOWN
    answers = [_statement(statement) for statement in statements]
    if Trust.EC2 in answers:
        return Trust.EC2
    return Trust.UNKNOWN if Trust.UNKNOWN in answers else Trust.NOT_EC2


def _statement(statement: object) -> Trust:
    if (branches := _if_branches(statement)) is not None:
        return _either(_statement(branch) for branch in branches)
    if not isinstance(statement, Mapping) or cfn.is_intrinsic(statement):
        return Trust.UNKNOWN
    if "NotPrincipal" in statement or "NotAction" in statement:
        return Trust.UNKNOWN  # rare, and a negation is easy to misread: leave it to the author
    effect = statement.get("Effect")
    if not isinstance(effect, str):
        return Trust.UNKNOWN
    if effect != "Allow":
        return Trust.NOT_EC2
    return _both(_principal(statement.get("Principal")), _action(statement.get("Action")))


def _principal(principal: object) -> Trust:
    if (branches := _if_branches(principal)) is not None:
        return _either(_principal(branch) for branch in branches)
    if not isinstance(principal, Mapping) or cfn.is_intrinsic(principal):
        # "*" (anyone) or an intrinsic: whether EC2 is meant is not for a linter to say.
        return Trust.UNKNOWN
    if "Service" not in principal:
        return Trust.NOT_EC2 if all(isinstance(v, str | list) for v in principal.values()) else Trust.UNKNOWN
    return _any_of(principal["Service"], _service)


def _service(value: object) -> Trust:
    if (branches := _if_branches(value)) is not None:
        return _either(_service(branch) for branch in branches)
    text = _service_text(value)
    if text is None:
        return Trust.UNKNOWN
    if _UNKNOWN_PART not in text:
        return Trust.EC2 if _EC2_PRINCIPAL.fullmatch(text) else Trust.NOT_EC2
    # Part of the name is a parameter or similar: certain only when the literal start rules EC2 out.
    literal_start = text.split(_UNKNOWN_PART, 1)[0]
    return Trust.UNKNOWN if _LONGEST_EC2_PRINCIPAL.startswith(literal_start) else Trust.NOT_EC2


def _service_text(value: object) -> str | None:
    """A service principal as text: AWS::URLSuffix filled in, any other intrinsic part as _UNKNOWN_PART."""
    if isinstance(value, str):
        return value
    if not (isinstance(value, Mapping) and len(value) == 1):
        return None
    ((function, argument),) = value.items()
    if function == cfn.FN_SUB and isinstance(argument, str):
        return _SUB_VARIABLE.sub(
            lambda match: _URL_SUFFIX if match[1] == _URL_SUFFIX_PARAMETER else _UNKNOWN_PART, argument
        )
    if function == cfn.FN_JOIN and isinstance(argument, list) and len(argument) == 2:
        delimiter, parts = argument
        if isinstance(delimiter, str) and isinstance(parts, list):
            return delimiter.join(
                part
                if isinstance(part, str)
                else _URL_SUFFIX
                if part == cfn.ref(_URL_SUFFIX_PARAMETER)
                else _UNKNOWN_PART
                for part in parts
            )
    return None


def _action(action: object) -> Trust:
    def one(value: object) -> Trust:
        if isinstance(value, str):
            return Trust.EC2 if _ASSUME_ROLE.fullmatch(value) else Trust.NOT_EC2
        return Trust.UNKNOWN

    return _any_of(action, one)


def _any_of(value: object, judge: Callable[[object], Trust]) -> Trust:
    """A string or a list of them: EC2 if any item is, else UNKNOWN if any item is unknown."""
    items = value if isinstance(value, list) else [value]
    answers = [judge(item) for item in items]
    if Trust.EC2 in answers:
        return Trust.EC2
    return Trust.UNKNOWN if (Trust.UNKNOWN in answers or not answers) else Trust.NOT_EC2


def _both(first: Trust, second: Trust) -> Trust:
    if Trust.NOT_EC2 in (first, second):
        return Trust.NOT_EC2
    return Trust.EC2 if first is second is Trust.EC2 else Trust.UNKNOWN


def _either(answers: Iterable[Trust]) -> Trust:
    """Both branches of an Fn::If: certain only when both agree."""
    found = set(answers)
    return found.pop() if len(found) == 1 else Trust.UNKNOWN


def _if_branches(value: object) -> tuple[object, object] | None:
    """The two branches of an Fn::If, or None when the value is not one."""
    if isinstance(value, Mapping) and len(value) == 1:
        arguments = value.get(cfn.FN_IF)
        if isinstance(arguments, list) and len(arguments) == 3:
            return arguments[1], arguments[2]
    return None
