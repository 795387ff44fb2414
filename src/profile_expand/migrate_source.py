"""Apply a migrate plan to the template's own text: every byte migrate does not edit stays the author's.

ruamel.yaml composes the file (YAML, or JSON as the YAML subset it is) into nodes with exact character
marks; the edits are spliced into the text at those marks. A round-trip dump is not used: on real
templates it re-folds long scalars, drops `---` and re-indents (see the README's migration figures).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from profile_expand import cfn
from profile_expand.errors import ProfileExpandError
from profile_expand.migrate import (
    MACRO,
    TRANSFORM,
    Plan,
    Slot,
    deployed,
    differences,
    expand_quietly,
    plan,
)
from profile_expand.sites import SiteKind
from profile_expand.yaml_io import Format, decode, detect_format

_SHORT_FORM: Final = re.compile(
    r"!(Ref|GetAtt|Sub|Join|If|ImportValue|Select|Split|FindInMap|Base64|GetAZs|Equals|Not|And|Or|Cidr)\b"
)
# A YAML plain scalar that reads back as this very string in any context (flow included).
_PLAIN: Final = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+=-]*")
_YAML_WORDS: Final = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


class MigrateError(ProfileExpandError):
    """The file cannot be edited as planned (a layout migrate does not handle); nothing is written."""


class LocatedMigrateError(MigrateError):
    """A MigrateError at a place in the file: 1-based `line` and `column`."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class Migration(NamedTuple):
    """The migrated text, the plan it follows, and how its expansion differs from the original (a bug)."""

    text: str
    plan: Plan
    mismatches: tuple[str, ...]


class _Edit(NamedTuple):
    start: int
    end: int
    text: str


def migrate_text(text: str, filename: str | None = None) -> Migration:
    """Plan the migration of a template file and write it; the result is re-read and proven equal."""
    decoded = decode(text, filename)
    _refuse_merge_keys(decoded.nodes)
    original = decoded.plain
    the_plan = plan(original)
    if not the_plan.conversions:
        return Migration(text, the_plan, ())
    edited = _apply(text, the_plan)
    migrated = decode(edited, filename).plain
    mismatches = tuple(differences(deployed(original), expand_quietly(migrated)))
    return Migration(edited, the_plan, mismatches)


# -- nodes -------------------------------------------------------------------------------------------


def _refuse_merge_keys(nodes: Any) -> None:
    """A `<<` merge key: the text does not say which value each key has, so no edit of it is safe."""
    stack = [nodes]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if getattr(node, "using_merge", False):
                mark: Any = getattr(node, "start_mark", None)
                raise LocatedMigrateError(
                    mark.line + 1,
                    mark.column + 1,
                    "a YAML merge key (<<), which CloudFormation does not support; resolve it (aws "
                    "cloudformation package does) and migrate the result",
                )
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _compose(text: str) -> Any:
    from ruamel.yaml import YAML  # only migrate needs it: kept out of the other commands' start-up
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return YAML(typ="rt").compose(text)
    except MarkedYAMLError as error:
        # PyYAML (CloudFormation's reading) accepts a few things ruamel.yaml, which migrate edits with,
        # does not: a tab after `key:`, say.
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = f"{error.problem or error}, which migrate's YAML editor (ruamel.yaml) does not read"
        raise LocatedMigrateError(line, column, message) from error


def _entries(node: Any) -> list[tuple[Any, Any]]:
    if type(node).__name__ != "MappingNode":
        raise MigrateError(f"expected a mapping at line {node.start_mark.line + 1}")
    return list(node.value)


def _entry(node: Any, key: str | int) -> tuple[Any, Any]:
    if isinstance(key, int):
        if type(node).__name__ != "SequenceNode":
            raise MigrateError(f"expected a list at line {node.start_mark.line + 1}")
        return (None, node.value[key])
    for key_node, value_node in _entries(node):
        if getattr(key_node, "value", None) == key:
            return key_node, value_node
    raise MigrateError(f"{key} not found at line {node.start_mark.line + 1}")


def _node_at(root: Any, path: Sequence[str | int]) -> tuple[Any, Any, Any]:
    """(the parent node, the key node or None, the value node) at a plain path."""
    parent, key_node, node = None, None, root
    for step in path:
        parent = node
        key_node, node = _entry(node, step)
    return parent, key_node, node


def _is_block(node: Any) -> bool:
    return type(node).__name__ in ("MappingNode", "SequenceNode") and not node.flow_style


def _content_end(text: str, node: Any) -> int:
    """Where the node's own text ends: a block collection's end mark lies after trailing comments/blanks."""
    if _is_block(node) and node.value:
        last = node.value[-1]
        return _content_end(text, last[1] if isinstance(last, tuple) else last)
    end = int(node.end_mark.index)
    start = int(node.start_mark.index)
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """The index just after the newline ending the line that holds `index` (or the end of the text)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


# -- rendering new values ------------------------------------------------------------------------------


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


# -- edits ---------------------------------------------------------------------------------------------


def _apply(text: str, the_plan: Plan) -> str:
    fmt = detect_format(text)
    root = _compose(text)
    if root is None:
        raise MigrateError("the file holds no template")
    short = fmt is Format.YAML and bool(_SHORT_FORM.search(text))
    edits: list[_Edit] = []
    for conversion in the_plan.conversions:
        value_text = _render(conversion.iam_role, fmt, short)
        for slot in conversion.slots:
            edits.extend(_site_edits(text, root, slot, value_text, fmt))
    edits.extend(_deletions(text, root, {conversion.profile for conversion in the_plan.conversions}))
    if the_plan.adds_transform:
        edits.append(_transform_edit(text, root, fmt))
    if "\r\n" in text:
        # A file with CRLF line ends gets CRLF in what migrate writes too.
        edits = [edit._replace(text=edit.text.replace("\r\n", "\n").replace("\n", "\r\n")) for edit in edits]
    result = text
    previous_start = len(text) + 1
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > previous_start:
            raise MigrateError("two edits overlap; the file is left as it is")
        result = result[: edit.start] + edit.text + result[edit.end :]
        previous_start = edit.start
    return result


def _site_edits(text: str, root: Any, slot: Slot, value_text: str, fmt: Format) -> list[_Edit]:
    if slot.site.kind is SiteKind.OPTION_SETTING:
        entry = _node_at(root, slot.path[:-1])[2]
        name_node = _entry(entry, "OptionName")[1]
        value_key, value_node = _entry(entry, "Value")
        return [
            _Edit(
                int(name_node.start_mark.index),
                _content_end(text, name_node),
                _scalar_like(text, name_node, cfn.IAM_ROLE_SHORTHAND, fmt),
            ),
            *_value_edit(text, value_key, value_node, value_text, fmt, "Value"),
        ]
    _, key_node, value_node = _node_at(root, slot.path)
    return _value_edit(text, key_node, value_node, value_text, fmt, cfn.IAM_ROLE_SHORTHAND)


def _value_edit(
    text: str, key_node: Any, value_node: Any, value_text: str, fmt: Format, key_name: str
) -> list[_Edit]:
    """Replace a value and name its key `key_name`: in place on its line, or a block value as a whole."""
    new_key = _scalar_like(text, key_node, key_name, fmt)
    if _is_block(value_node):
        return [
            _Edit(int(key_node.start_mark.index), _content_end(text, value_node), f"{new_key}: {value_text}")
        ]
    start, end = int(value_node.start_mark.index), _content_end(text, value_node)
    if fmt is Format.JSON and "\n" in text[start:end]:
        # A JSON value the author spread over lines is written over lines, in the file's indentation.
        value_text = _json_block(text, start, json.loads(value_text))
    edits = [_Edit(start, end, value_text)]
    if key_node.value != key_name:
        edits.append(_Edit(int(key_node.start_mark.index), _content_end(text, key_node), new_key))
    return edits


def _deletions(text: str, root: Any, profiles: set[str]) -> list[_Edit]:
    """Remove the profiles' resources: their lines in a block mapping; in a flow mapping (JSON) each run of
    adjacent members at once, with the commas that separated them."""
    resources = _entry(root, cfn.RESOURCES)[1]
    entries = _entries(resources)
    if not resources.flow_style:
        return [_block_deletion(text, key, value) for key, value in entries if key.value in profiles]
    edits = []
    position = 0
    while position < len(entries):
        if entries[position][0].value not in profiles:
            position += 1
            continue
        first = position
        while position + 1 < len(entries) and entries[position + 1][0].value in profiles:
            position += 1
        last_value = entries[position][1]
        if position + 1 < len(entries):
            edits.append(
                _Edit(
                    int(entries[first][0].start_mark.index),
                    int(entries[position + 1][0].start_mark.index),
                    "",
                )
            )
        elif first > 0:
            edits.append(_Edit(_content_end(text, entries[first - 1][1]), _content_end(text, last_value), ""))
        else:
            edits.append(_Edit(int(entries[first][0].start_mark.index), _content_end(text, last_value), ""))
        position += 1
    return edits


def _block_deletion(text: str, key_node: Any, value_node: Any) -> _Edit:
    """A resource's lines in a block mapping (a blank line on each side: one of them goes too)."""
    key_start = int(key_node.start_mark.index)
    start = _line_start(text, key_start)
    if text[start:key_start].strip():
        raise MigrateError(f"resource {key_node.value} does not start its own line")
    end = _line_end(text, _content_end(text, value_node))
    before_blank = start >= 1 and text[_line_start(text, start - 1) : start].strip() == ""
    after_line = text[end : _line_end(text, end)]
    if before_blank and after_line.strip() == "" and end < len(text):
        end = _line_end(text, end)
    return _Edit(start, end, "")


def _transform_edit(text: str, root: Any, fmt: Format) -> _Edit:
    """Append ProfileExpand to the transforms (after any the template has); create the key if missing."""
    entries = _entries(root)
    macro = json.dumps(MACRO) if fmt is Format.JSON else MACRO
    existing = next(((k, v) for k, v in entries if k.value == TRANSFORM), None)
    if existing is not None:
        value = existing[1]
        end = _content_end(text, value)
        if type(value).__name__ == "ScalarNode" or (
            type(value).__name__ == "MappingNode" and value.flow_style
        ):
            # One transform (a name, or `{Name: ..., Parameters: ...}`) becomes a list of two.
            start = int(value.start_mark.index)
            return _Edit(start, end, f"[{text[start:end]}, {macro}]")
        if type(value).__name__ == "MappingNode":
            raise LocatedMigrateError(
                value.start_mark.line + 1,
                value.start_mark.column + 1,
                "the Transform is a mapping over several lines; write it as a list, "
                "[{Name: ..., Parameters: ...}], and run migrate again",
            )
        if value.flow_style:
            if not value.value:
                closing = text.rfind("]", 0, end + 1)
                return _Edit(closing, closing, macro)
            last_item = value.value[-1]
            after = _content_end(text, last_item)
            item_start = int(last_item.start_mark.index)
            if "\n" in text[int(value.start_mark.index) : item_start]:
                # A list spread over lines gets the new item on its own line, indented like the last.
                leading = text[_line_start(text, item_start) : item_start]
                return _Edit(after, after, f",\n{leading[: len(leading) - len(leading.lstrip())]}{macro}")
            return _Edit(after, after, f", {macro}")
        last = value.value[-1]
        line = _line_start(text, int(last.start_mark.index))
        prefix = text[line : int(last.start_mark.index)]
        cut = _line_end(text, end)
        newline = "" if text[:cut].endswith("\n") else "\n"
        return _Edit(cut, cut, f"{newline}{prefix}{macro}\n")
    anchors = [(k, v) for k, v in entries if k.value in ("AWSTemplateFormatVersion", "Description")]
    key = f'"{TRANSFORM}"' if fmt is Format.JSON else TRANSFORM
    if anchors:
        anchor_key, anchor_value = anchors[-1]
        line = _line_start(text, int(anchor_key.start_mark.index))
        indent = text[line : int(anchor_key.start_mark.index)]
        indent = indent if not indent.strip() else ""
        if fmt is Format.JSON or root.flow_style:
            return _Edit(
                _content_end(text, anchor_value),
                _content_end(text, anchor_value),
                f",\n{indent}{key}: {macro}",
            )
        cut = _line_end(text, _content_end(text, anchor_value))
        newline = "" if text[:cut].endswith("\n") else "\n"
        return _Edit(cut, cut, f"{newline}{indent}{key}: {macro}\n")
    first_key = entries[0][0]
    start = int(first_key.start_mark.index)
    if fmt is Format.JSON or root.flow_style:
        line = _line_start(text, start)
        indent = text[line:start] if not text[line:start].strip() else " "
        return _Edit(start, start, f"{key}: {macro},\n{indent}")
    return _Edit(_line_start(text, start), _line_start(text, start), f"{key}: {macro}\n")
