"""A Terraform plan as JSON (`terraform show -json plan.out`) read as one module of planned values.

Every resource of the plan, child modules included, is a block at its full address; its planned values
are literals (what Terraform knows at plan time). What is unknown until apply is read from the plan's
configuration section instead (plan_configuration.py): a reference to one role's attribute there is that
role. Lines are those of each resource's "address" in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from profile_expand.terraform.hcl import Attribute, Block, Body, HclError, SourceFile, Span
from profile_expand.terraform.plan_configuration import Configured

_MANAGED: Final = "managed"


def is_plan(document: object) -> bool:
    """Told apart from a CloudFormation template by its two top-level keys."""
    return isinstance(document, Mapping) and "format_version" in document and "planned_values" in document


def read_plan(path: str) -> SourceFile:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        document = json.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise HclError(path, 1, 1, f"cannot read the file: {error}") from error
    except ValueError as error:
        line, column = getattr(error, "lineno", 1), getattr(error, "colno", 1)
        raise HclError(path, line, column, f"not valid JSON: {getattr(error, 'msg', error)}") from error
    if not is_plan(document):
        raise HclError(path, 1, 1, "not a Terraform plan: no format_version and planned_values")
    root = (
        document["planned_values"].get("root_module")
        if isinstance(document["planned_values"], dict)
        else None
    )
    configured = Configured(document)
    blocks = [_block(resource, text, configured) for resource in _resources(root)]
    roles = configured.roles(block.address for block in blocks if block is not None)
    return SourceFile(path, text, Body({}, (*(block for block in blocks if block is not None), *roles)))


def _resources(module: object) -> Iterator[Mapping[str, Any]]:
    if not isinstance(module, Mapping):
        return
    for resource in module.get("resources") or ():
        if isinstance(resource, Mapping) and resource.get("mode", _MANAGED) == _MANAGED:
            yield resource
    for child in module.get("child_modules") or ():
        yield from _resources(child)


def _block(resource: Mapping[str, Any], text: str, configured: Configured) -> Block | None:
    address, kind, name = resource.get("address"), resource.get("type"), resource.get("name")
    values = resource.get("values")
    if not (isinstance(address, str) and isinstance(kind, str) and isinstance(name, str)):
        return None
    at = text.find(json.dumps(address))
    at = max(at, 0)
    line = text.count("\n", 0, at) + 1
    span = Span(line, at - (text.rfind("\n", 0, at) + 1) + 1, at, at)
    known = _known(values) if isinstance(values, Mapping) else {}
    attributes = {
        key: Attribute(key, value, span)
        for key, value in configured.unknown_filled(address, kind, name, known).items()
    }
    return Block("resource", (kind, name), Body(attributes, ()), span, address)


def _known(value: Any) -> Any:
    """Planned values without the empty ones (the provider writes "" and null for what is not set)."""
    if isinstance(value, Mapping):
        return {key: _known(item) for key, item in value.items() if item not in (None, "")}
    if isinstance(value, list):
        return [_known(item) for item in value]
    return value
