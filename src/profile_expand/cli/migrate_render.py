"""How `profile-expand migrate` writes a new value into a template's text: YAML (short forms where the
file uses them) or JSON, in the file's own indentation and quoting."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from profile_expand.cli.migrate_nodes import _line_start
from profile_expand.cli.yaml_io import Format
from profile_expand.core import cfn

# A YAML plain scalar that reads back as this very string in any context (flow included).
_PLAIN: Final = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+=-]*")
_YAML_WORDS: Final = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _render(value: Any, fmt: Format, short: bool) -> str:
    if fmt is Format.JSON:
        return json.dumps(value, ensure_ascii=False)
    return _yaml(value, short)


def _yaml(value: Any, short: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(item, short) for item in value) + "]"
    if isinstance(value, Mapping):
        if short and len(value) == 1:
            ((key, argument),) = value.items()
            if key == cfn.REF and isinstance(argument, str):
                return f"!Ref {_yaml(argument, short)}"
            if (
                key == cfn.GET_ATT
                and isinstance(argument, list)
                and all(isinstance(a, str) for a in argument)
            ):
                return f"!GetAtt {'.'.join(argument)}"
            if isinstance(key, str) and key.startswith("Fn::") and not cfn.is_intrinsic(argument):
                # One tag per node: an intrinsic inside a short form is written in its long form.
                return f"!{key[4:]} {_yaml(argument, False)}"
        return "{" + ", ".join(f"{_yaml(str(k), False)}: {_yaml(v, short)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _json_block(text: str, start: int, value: Any) -> str:
    """JSON over lines: one indent step as the file's, continuing from the line that holds `start`."""
    line = text[_line_start(text, start) : start]
    base = line[: len(line) - len(line.lstrip())]
    step = _json_indent(text)
    rendered = json.dumps(value, indent=step, ensure_ascii=False)
    return rendered.replace("\n", "\n" + base)


def _json_indent(text: str) -> str:
    """The indentation of the first indented line: the file's step."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            return line[: len(line) - len(stripped)]
    return "  "


def _scalar_like(text: str, node: Any, new: str, fmt: Format) -> str:
    """A new key or option name written in the style (quotes) of the scalar it replaces."""
    if fmt is Format.JSON:
        return json.dumps(new)
    style = getattr(node, "style", None)
    return f"{style}{new}{style}" if style in ("'", '"') else new
