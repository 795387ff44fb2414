"""Terraform's JSON syntax (.tf.json) read into the same blocks and attributes as HCL files.

A string holding exactly one `${...}` is that expression; lines are those of each key as written.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from profile_expand.terraform.hcl import Attribute, Block, Body, HclError, Other, Span, parse_hcl

_WHOLE_EXPRESSION: Final = re.compile(r"\A\$\{([^{}]*)\}\Z")
# Blocks with labels, and how many: resource "type" "name", data "type" "name", module "name", ...
_LABELS: Final = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}


def read_json(path: str, text: str) -> Body:
    try:
        document = json.loads(text)
    except ValueError as error:
        line, column = getattr(error, "lineno", 1), getattr(error, "colno", 1)
        raise HclError(path, line, column, f"not valid JSON: {getattr(error, 'msg', error)}") from error
    if not isinstance(document, dict):
        raise HclError(path, 1, 1, "not a Terraform JSON configuration: the file holds no object")
    return _Reader(path, text).body(document, 0)


class _Reader:
    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text
        self.cursor = 0

    def locate(self, key: str) -> Span:
        """The key's place, searched forward from the last key placed (JSON keeps the order written)."""
        found = self.text.find(json.dumps(key), self.cursor)
        if found < 0:
            found = max(self.text.find(json.dumps(key)), 0)
        else:
            self.cursor = found + 1
        line = self.text.count("\n", 0, found) + 1
        column = found - (self.text.rfind("\n", 0, found) + 1) + 1
        return Span(line, column, found, found)

    def body(self, document: dict[str, Any], depth: int) -> Body:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for key, value in document.items():
            span = self.locate(key)
            labels = _LABELS.get(key, 0) if depth == 0 else 0
            if labels and isinstance(value, dict):
                blocks.extend(self._labelled(key, value, labels, span))
            else:
                # A nested block is an object (or a list of them) in JSON: the translation reads both.
                attributes[key] = Attribute(key, self.value(value), span)
        return Body(attributes, tuple(blocks))

    def _labelled(self, key: str, value: dict[str, Any], count: int, span: Span) -> list[Block]:
        if count == 1:
            return [
                Block(key, (name,), self.body(inner, 1) if isinstance(inner, dict) else Body({}, ()), span)
                for name, inner in value.items()
            ]
        blocks = []
        for type_name, named in value.items():
            if not isinstance(named, dict):
                continue
            for name, inner in named.items():
                where = self.locate(name)
                bodies = inner if isinstance(inner, list) else [inner]
                for item in bodies:
                    if isinstance(item, dict):
                        blocks.append(Block(key, (type_name, name), self.body(item, 1), where))
        return blocks

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = _WHOLE_EXPRESSION.match(value)
            if whole:
                try:
                    attribute = parse_hcl(self.path, f"x = {whole[1]}\n").attributes.get("x")
                except HclError:
                    return Other(value)
                return attribute.value if attribute is not None else Other(value)
            return Other(value) if "${" in value or "%{" in value else value
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value
