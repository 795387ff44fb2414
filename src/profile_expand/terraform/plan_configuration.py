"""A plan's configuration section: what each resource's expressions reference, for the values a plan
cannot know until apply (https://developer.hashicorp.com/terraform/internals/json-format).

The section records which objects an expression references, not the expression: a value whose only
references are one role's attribute (and that role itself) is read as that role; anything else stays
unknown. Addresses carry their module path (module.web.aws_iam_role.this) as in the plan's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from profile_expand.terraform.hcl import Block, Body, Span, Traversal

_ROLE_ATTRIBUTE: Final = re.compile(
    r"\A(?:data\.)?aws_iam_role\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?\.(?:name|arn|id|unique_id)\Z"
)
_INDEX: Final = re.compile(r"\[[^\]]*\]")
_EXPRESSION_KEYS: Final = frozenset({"references", "constant_value"})
_NOWHERE: Final = Span(1, 1, 0, 0)


class Configured:
    """The configuration's expressions by full address (module path, no index), and the plan's
    after_unknown by resource instance address."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.expressions: dict[str, Mapping[str, Any]] = {}
        self.role_addresses: list[str] = []
        self.unknown: dict[str, Any] = {}
        configuration = document.get("configuration")
        if isinstance(configuration, Mapping):
            self._walk(configuration.get("root_module"), "")
        for change in document.get("resource_changes") or ():
            if not isinstance(change, Mapping) or not isinstance(change.get("address"), str):
                continue
            after = change.get("change")
            if isinstance(after, Mapping) and "after_unknown" in after:
                self.unknown[change["address"]] = after["after_unknown"]

    def _walk(self, module: object, prefix: str) -> None:
        if not isinstance(module, Mapping):
            return
        for resource in module.get("resources") or ():
            if not isinstance(resource, Mapping) or not isinstance(resource.get("address"), str):
                continue
            expressions = resource.get("expressions")
            address = prefix + resource["address"]
            self.expressions[address] = expressions if isinstance(expressions, Mapping) else {}
            if resource.get("type") == "aws_iam_role":
                self.role_addresses.append(address)
        calls = module.get("module_calls")
        for name, call in calls.items() if isinstance(calls, Mapping) else ():
            if isinstance(call, Mapping):
                self._walk(call.get("module"), f"{prefix}module.{name}.")

    def unknown_filled(self, address: str, kind: str, name: str, known: dict[str, Any]) -> dict[str, Any]:
        """A resource's planned values, with what is unknown until apply read from its configuration."""
        configured = _INDEX.sub("", address)
        expressions = self.expressions.get(configured)
        if not expressions or not configured.endswith(f"{kind}.{name}"):
            return known
        prefix = configured[: -len(f"{kind}.{name}")]
        filled: dict[str, Any] = _fill(
            known, expressions, self.unknown.get(address), address in self.unknown, prefix
        )
        return filled

    def roles(self, present: Iterable[str | None]) -> list[Block]:
        """A block for each role the configuration declares and no planned resource has at that address
        (a counted role's instances, a data source): what a configuration reference can point at."""
        have = set(present)
        blocks = []
        for address in self.role_addresses:
            if address in have:
                continue
            inside = address.rsplit("aws_iam_role.", 1)[-1]
            kind = "data" if address.endswith(f"data.aws_iam_role.{inside}") else "resource"
            blocks.append(Block(kind, ("aws_iam_role", inside), Body({}, ()), _NOWHERE, address))
        return blocks


def _fill(known: Any, expressions: Mapping[str, Any], unknown: Any, has_unknown: bool, prefix: str) -> Any:
    if not isinstance(known, dict):
        return known
    result = dict(known)
    for key, expression in expressions.items():
        flag = unknown.get(key) if isinstance(unknown, Mapping) else None
        if key in known:
            if isinstance(known[key], list) and isinstance(expression, list):
                result[key] = [
                    _fill(item, block, _nth(flag, position), has_unknown, prefix)
                    if isinstance(block, Mapping)
                    else item
                    for position, (item, block) in enumerate(zip(known[key], expression, strict=False))
                ] + known[key][len(expression) :]
            continue
        if has_unknown and not flag:
            continue  # after_unknown says it is known: absent means not set
        value = _value(expression, flag, has_unknown, prefix)
        if value is not None:
            result[key] = value
    return result


def _nth(flag: Any, position: int) -> Any:
    return flag[position] if isinstance(flag, list) and position < len(flag) else flag


def _value(expression: Any, flag: Any, has_unknown: bool, prefix: str) -> Any:
    if isinstance(expression, list):  # nested blocks: one object of expressions each
        return [
            _fill({}, block, _nth(flag, position), has_unknown, prefix)
            for position, block in enumerate(expression)
            if isinstance(block, Mapping)
        ] or None
    if not isinstance(expression, Mapping):
        return None
    if expression.keys() <= _EXPRESSION_KEYS:
        references = expression.get("references")
        return _role(references, prefix) if isinstance(references, list) else None
    return _fill({}, expression, flag, has_unknown, prefix) or None


def _role(references: list[Any], prefix: str) -> Traversal | None:
    """The role an expression names when its only references are one role's attribute and the role."""
    roles = [r for r in references if isinstance(r, str) and _ROLE_ATTRIBUTE.match(r)]
    if len(roles) != 1 or not all(isinstance(r, str) and roles[0].startswith(r) for r in references):
        return None
    parts = tuple(part for part in (prefix + _INDEX.sub("", roles[0])).split(".") if part)
    return Traversal(parts, roles[0])
