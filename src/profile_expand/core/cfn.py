"""CloudFormation keys and intrinsic names, spelled once, exactly as CloudFormation spells them."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Final

RESOURCES: Final = "Resources"
PARAMETERS: Final = "Parameters"
CONDITIONS: Final = "Conditions"
TRANSFORM: Final = "Transform"
TYPE: Final = "Type"
PROPERTIES: Final = "Properties"
CONDITION: Final = "Condition"
METADATA: Final = "Metadata"
DEPENDS_ON: Final = "DependsOn"

REF: Final = "Ref"
GET_ATT: Final = "Fn::GetAtt"
FN_IF: Final = "Fn::If"
FN_OR: Final = "Fn::Or"
FN_AND: Final = "Fn::And"
FN_NOT: Final = "Fn::Not"
FN_SUB: Final = "Fn::Sub"
FN_JOIN: Final = "Fn::Join"
FN_SELECT: Final = "Fn::Select"
FN_SPLIT: Final = "Fn::Split"
NO_VALUE: Final = "AWS::NoValue"
# {"Ref": "AWS::NoValue"}, to compare a value with (never to put in a template: it is one shared object).
NO_VALUE_REF: Final = {REF: NO_VALUE}
STACK_ID: Final = "AWS::StackId"
ARN_ATTRIBUTE: Final = "Arn"

IAM_ROLE_TYPE: Final = "AWS::IAM::Role"
INSTANCE_PROFILE_TYPE: Final = "AWS::IAM::InstanceProfile"
ROLES: Final = "Roles"
INSTANCE_PROFILE_NAME: Final = "InstanceProfileName"
ROLE_NAME: Final = "RoleName"

# The shorthand this project adds, and the key of its Metadata on generated resources.
IAM_ROLE_SHORTHAND: Final = "IamRole"
METADATA_KEY: Final = "ProfileExpand"
TRANSFORM_NAME: Final = "ProfileExpand"
# The transforms CloudFormation may run before the macro, and the loops of the first.
LANGUAGE_EXTENSIONS: Final = "AWS::LanguageExtensions"
SERVERLESS: Final = "AWS::Serverless-2016-10-31"
FOR_EACH_PREFIX: Final = "Fn::ForEach::"

# Conditions: at most 10 terms per Fn::Or / Fn::And (and at least 2).
MAX_CONDITION_TERMS: Final = 10
# CloudFormation's limit of resources per template (after transforms).
MAX_RESOURCES: Final = 500
# CloudFormation's limit on a template's size, in bytes: 1 MB from S3 (cfn-lint's E1002 uses the same number).
MAX_TEMPLATE_BYTES: Final = 1_000_000
# CloudFormation's limit on a logical ID's length.
MAX_LOGICAL_ID: Final = 255
# Fn::If inside Fn::If: deeper than this is no template a person wrote (and would exhaust the stack).
MAX_IF_DEPTH: Final = 32
TOO_DEEP_IF: Final = f"Fn::If is nested more than {MAX_IF_DEPTH} levels deep here."


def ref(logical_id: str) -> dict[str, Any]:
    return {REF: logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {GET_ATT: [logical_id, attribute]}


def is_intrinsic(value: object) -> bool:
    """A one-key mapping whose key is Ref, Condition or an Fn:: function."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key in (REF, CONDITION) or key.startswith("Fn::"))


def is_fn_if(node: object) -> bool:
    """A well-formed {"Fn::If": [condition, when_true, when_false]}."""
    if not (isinstance(node, dict) and len(node) == 1 and FN_IF in node):
        return False
    branches = node[FN_IF]
    return isinstance(branches, list) and len(branches) == 3


def transform_items(template: Any) -> list[Any]:
    """The template's Transform as a list (a single transform is a list of one), as written."""
    declared = template.get(TRANSFORM) if isinstance(template, Mapping) else None
    if declared is None:
        return []
    return list(declared) if isinstance(declared, list) else [declared]


def transform_name(item: Any) -> str:
    """A Transform entry's name (one with parameters is written {Name: ..., Parameters: ...})."""
    return str(item.get("Name")) if isinstance(item, Mapping) else str(item)


def transform_names(template: Any) -> list[str]:
    """The names of the template's transforms, in order."""
    return [transform_name(item) for item in transform_items(template)]


def to_plain(value: Any) -> Any:
    """A copy built from plain dict/list/str, as the macro receives the fragment from CloudFormation.

    Dates become their ISO text: CloudFormation reads `2010-09-09` as a string.
    """
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
