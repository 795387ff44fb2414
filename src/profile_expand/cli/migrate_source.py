"""Apply a migrate plan to the template's own text: every byte migrate does not edit stays the author's.

ruamel.yaml composes the file (YAML, or JSON as the YAML subset it is) into nodes with exact character
marks; the edits are spliced into the text at those marks. A round-trip dump is not used: on real
templates it re-folds long scalars, drops `---` and re-indents (see the README's migration figures).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

from profile_expand.cli.migrate import (
    MACRO,
    TRANSFORM,
    Conversion,
    Kept,
    Plan,
    Reason,
    Slot,
    combine,
    deployed,
    expand_quietly,
    plan,
    transform_problems,
)
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.migrate_depends import moved_depends_on, moved_from
from profile_expand.cli.migrate_nodes import (
    LocatedMigrateError,
    MigrateError,
    _comment_lines,
    _comments_between,
    _compose,
    _content_end,
    _entries,
    _entry,
    _is_block,
    _line_end,
    _line_start,
    _node_at,
    _read_by_ruamel,
    _refuse_merge_keys,
    _scannable,
    comments,
    lost_comments,
)
from profile_expand.cli.migrate_render import _json_block, _render, _scalar_like
from profile_expand.cli.yaml_io import Format, decode, detect_format
from profile_expand.core import cfn
from profile_expand.core.errors import InvalidTemplateError, TemplateSyntaxError
from profile_expand.core.sites import SiteKind

_SHORT_FORM: Final = re.compile(
    r"!(Ref|GetAtt|Sub|Join|If|ImportValue|Select|Split|FindInMap|Base64|GetAZs|Equals|Not|And|Or|Cidr)\b"
)
_NULL: Final = "tag:yaml.org,2002:null"


class Migration(NamedTuple):
    """The migrated text, the plan it follows, and how its expansion differs from the original (a bug)."""

    text: str
    plan: Plan
    mismatches: tuple[str, ...]


class _Edit(NamedTuple):
    start: int
    end: int
    text: str


def migrate_text(text: str, filename: str | None = None, *, keep_references: bool = False) -> Migration:
    """Plan the migration of a template file and write it; the result is re-read and proven equal.

    A conversion whose edit the file does not allow (an anchor in what it removes that an alias elsewhere
    uses), or whose edit would not read back, is kept with that reason. A file ruamel.yaml cannot read,
    or with a merge key, is refused at its place in the file (LocatedMigrateError).
    """
    decoded = decode(text, filename)
    _refuse_merge_keys(decoded.nodes)
    original = decoded.plain
    the_plan = plan(original, keep_references=keep_references)
    if the_plan.conversions:
        # The file as ruamel.yaml reads it, which migrate edits with: what it cannot read is located in the
        # file (LocatedMigrateError), before any edit.
        _compose(text)
        comments(text)
    while the_plan.conversions:
        try:
            edited = _apply(text, the_plan)
            migrated = decode(edited, filename).plain
            missing = lost_comments(text, edited)
        except (MigrateError, TemplateSyntaxError):
            the_plan = _without_unwritable(text, original, the_plan)
            continue
        try:
            mismatches = differences(
                deployed(original), expand_quietly(migrated), moved_from(the_plan.conversions)
            )
        except InvalidTemplateError as error:
            mismatches = [f"the macro rejects the migrated template: {error.summary}"]
        mismatches += transform_problems(original, migrated) + missing
        return Migration(edited, the_plan, tuple(mismatches))
    return Migration(text, the_plan, ())


def _without_unwritable(text: str, original: Any, the_plan: Plan) -> Plan:
    """The plan without the conversions whose edits cannot be written (each kept, saying why); if each
    can be written alone, none is kept converted: together they cannot."""
    kept: list[Kept] = []
    writable: list[Conversion] = []
    for conversion in the_plan.conversions:
        problem = _unwritable(text, the_plan._replace(conversions=(conversion,)))
        if problem is None:
            writable.append(conversion)
        else:
            kept.append(Kept(conversion.profile, (Reason("unwritable", problem),)))
    if not kept:
        problem = _unwritable(text, the_plan) or "the edits together"
        kept = [Kept(c.profile, (Reason("unwritable", problem),)) for c in the_plan.conversions]
        writable = []
    return combine(original, Plan((), (*the_plan.kept, *kept)), writable)


def _unwritable(text: str, the_plan: Plan) -> str | None:
    """Why the plan's edits cannot be written into this file, or None."""
    try:
        edited = _apply(text, the_plan)
        decode(edited)
        lost_comments(text, edited)
    except MigrateError as error:
        return f"the file's layout does not allow its edit ({error})"
    except TemplateSyntaxError as error:
        # The edited text has no file: its parser's own words say where (one line of them).
        return f"its edit would not read back ({' '.join(error.message.split())}); the file is left as it is"
    return None


# -- comments ----------------------------------------------------------------------------------------


# -- nodes -------------------------------------------------------------------------------------------


# -- rendering new values ------------------------------------------------------------------------------


# -- edits ---------------------------------------------------------------------------------------------


def _apply(text: str, the_plan: Plan) -> str:
    fmt = detect_format(text)
    root = _compose(text)
    if root is None:
        raise MigrateError("the file holds no template")
    short = fmt is Format.YAML and bool(_SHORT_FORM.search(text))
    found = comments(text) if fmt is Format.YAML else []
    edits: list[_Edit] = []
    dropped: dict[str, set[str]] = {}
    for conversion in the_plan.conversions:
        for position, slot in enumerate(conversion.slots):
            value_text = _render(conversion.value(position), fmt, short)
            edits.extend(_site_edits(text, root, slot, value_text, fmt, found))
        for logical_id in conversion.dropped:
            dropped.setdefault(logical_id, set()).add(conversion.profile)
    resources = _entry(root, cfn.RESOURCES)[1]
    profiles = {conversion.profile for conversion in the_plan.conversions}
    edits.extend(_remove(text, resources, _positions(resources, profiles), found))
    plain = decode(text).plain
    for conversion in the_plan.conversions:
        for logical_id, depends_on in moved_depends_on(plain, conversion).items():
            gone = dropped.pop(logical_id, set())
            kept = [name for name in depends_on if name not in gone]
            edits.extend(_depends_on_edit(text, _entry(resources, logical_id)[1], kept, fmt, short, found))
    for logical_id, gone in dropped.items():
        edits.extend(_drop_depends_on(text, _entry(resources, logical_id)[1], gone, found))
    if the_plan.adds_transform:
        edits.append(_transform_edit(text, root, fmt))
    if fmt is Format.YAML and "&" in text:
        _check_anchors(text, edits)
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


def _check_anchors(text: str, edits: list[_Edit]) -> None:
    """An anchor in text an edit removes or rewrites must have no alias outside the edits: that alias would
    name nothing (or, in a rewritten value, something else)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.tokens import AliasToken, AnchorToken

    anchors: list[tuple[int, str]] = []
    aliases: list[tuple[int, str]] = []
    with _read_by_ruamel():
        for token in YAML(typ="rt").scan(_scannable(text)):
            if isinstance(token, AnchorToken | AliasToken):
                kept = anchors if isinstance(token, AnchorToken) else aliases
                kept.append((int(token.start_mark.index), str(token.value)))

    def edited(index: int) -> bool:
        return any(edit.start <= index < edit.end for edit in edits)

    for position, name in anchors:
        if not edited(position):
            continue
        for alias_position, alias in aliases:
            if alias == name and not edited(alias_position):
                raise MigrateError(
                    f"the anchor &{name} at line {_line_number(text, position)} is in text it removes or "
                    f"rewrites, and the alias *{name} at line {_line_number(text, alias_position)} uses it"
                )


def _line_number(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _site_edits(
    text: str, root: Any, slot: Slot, value_text: str, fmt: Format, found: list[tuple[int, str]]
) -> list[_Edit]:
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
            *_value_edit(text, value_key, value_node, value_text, fmt, "Value", found),
        ]
    _, key_node, value_node = _node_at(root, slot.path)
    return _value_edit(text, key_node, value_node, value_text, fmt, cfn.IAM_ROLE_SHORTHAND, found)


def _value_edit(
    text: str,
    key_node: Any,
    value_node: Any,
    value_text: str,
    fmt: Format,
    key_name: str,
    found: list[tuple[int, str]],
) -> list[_Edit]:
    """Replace a value and name its key `key_name`: in place on its line, or a block value as a whole.
    Comments inside the value written over several lines go on lines of their own after it."""
    new_key = _scalar_like(text, key_node, key_name, fmt)
    key_start = int(key_node.start_mark.index)
    start, end = int(value_node.start_mark.index), _content_end(text, value_node)
    if _is_block(value_node):
        edits = [_Edit(key_start, end, f"{new_key}: {value_text}")]
        start = key_start
    else:
        if fmt is Format.JSON and "\n" in text[start:end]:
            # A JSON value the author spread over lines is written over lines, in the file's indentation.
            value_text = _json_block(text, start, json.loads(value_text))
        edits = [_Edit(start, end, value_text)]
        if key_node.value != key_name:
            edits.append(_Edit(key_start, _content_end(text, key_node), new_key))
    inside = _comments_between(text, found, start, end)
    if inside:
        at = _line_end(text, end)
        newline = "" if text[:at].endswith("\n") else "\n"
        indent = " " * (key_start - _line_start(text, key_start))
        edits.append(_Edit(at, at, newline + _comment_lines(inside, indent)))
    return edits


def _positions(node: Any, keys: set[str]) -> set[int]:
    return {position for position, (key, _) in enumerate(_entries(node)) if key.value in keys}


def _drop_depends_on(text: str, resource: Any, gone: set[str], found: list[tuple[int, str]]) -> list[_Edit]:
    """Remove the entries naming `gone` from the resource's DependsOn; all of it when none is left."""
    entries = _entries(resource)
    position = next((i for i, (key, _) in enumerate(entries) if key.value == cfn.DEPENDS_ON), None)
    if position is None:
        raise MigrateError(f"no DependsOn written at line {resource.start_mark.line + 1}")
    value = entries[position][1]
    if type(value).__name__ == "SequenceNode":
        drop = {i for i, item in enumerate(value.value) if getattr(item, "value", None) in gone}
        if len(drop) < len(value.value):
            return _remove(text, value, drop, found)
    return _remove(text, resource, {position}, found)


def _depends_on_edit(
    text: str, resource: Any, depends_on: list[str], fmt: Format, short: bool, found: list[tuple[int, str]]
) -> list[_Edit]:
    """Write the resource's DependsOn as `depends_on`: over the one written, or as a new key after Type."""
    rendered = _render(depends_on, fmt, short)
    for key_node, value_node in _entries(resource):
        if key_node.value == cfn.DEPENDS_ON:
            return _value_edit(text, key_node, value_node, rendered, fmt, cfn.DEPENDS_ON, found)
    if not _is_block(resource) and fmt is not Format.JSON:
        raise MigrateError(f"a DependsOn to add to the flow mapping at line {resource.start_mark.line + 1}")
    type_key, type_value = _entry(resource, cfn.TYPE)
    key_start = int(type_key.start_mark.index)
    indent = " " * (key_start - _line_start(text, key_start))
    at = _content_end(text, type_value)
    if fmt is Format.JSON:
        return [_Edit(at, at, f',\n{indent}"{cfn.DEPENDS_ON}": {rendered}')]
    return [_Edit(at, at, f"\n{indent}{cfn.DEPENDS_ON}: {rendered}")]


def _members(node: Any) -> list[tuple[Any, Any]]:
    """(key node or None, value node) of each member of a mapping or sequence node."""
    if type(node).__name__ == "SequenceNode":
        return [(None, item) for item in node.value]
    return _entries(node)


def _remove(text: str, node: Any, positions: set[int], found: list[tuple[int, str]]) -> list[_Edit]:
    """Remove these members of a mapping or list: their lines in block style; in flow style (JSON) each
    run of adjacent members with the commas that separated them. Their comments stay where they were."""
    members = _members(node)
    if not node.flow_style:
        return [_block_removal(text, *members[position], found) for position in sorted(positions)]
    edits: list[_Edit] = []
    position = 0
    while position < len(members):
        if position not in positions:
            position += 1
            continue
        first = position
        while position + 1 in positions:
            position += 1
        start = int((members[first][0] or members[first][1]).start_mark.index)
        end = _content_end(text, members[position][1])
        if position + 1 < len(members):
            end = _comma_after(text, end) + 1
            while end < len(text) and text[end] in " \t":
                end += 1
        elif first > 0:
            comma = _comma_after(text, _content_end(text, members[first - 1][1]))
            # The comma before the run goes; on the run's own line, the space up to it too.
            cut = start if "\n" not in text[comma:start] else comma + 1
            edits.append(_Edit(comma, cut, ""))
            start = max(start, cut)
        edits.append(_flow_removal(text, start, end, found))
        position += 1
    return edits


def _comma_after(text: str, index: int) -> int:
    """The comma that ends a flow member whose content ends at `index` (comments may come between)."""
    while index < len(text):
        if text[index] == ",":
            return index
        if text[index] == "#":
            index = _line_end(text, index)
            continue
        if text[index] not in " \t\r\n":
            break
        index += 1
    raise MigrateError(f"no comma after the member ending at line {text.count(chr(10), 0, index) + 1}")


def _flow_removal(text: str, start: int, end: int, found: list[tuple[int, str]]) -> _Edit:
    """Delete text[start:end] (whole lines when nothing else is on them), keeping its comments."""
    line = _line_start(text, start)
    rest = _line_end(text, end)
    inside = _comments_between(text, found, start, end)
    if not text[line:start].strip() and not text[end:rest].strip():
        return _Edit(line, rest, _comment_lines(inside, text[line:start]))
    indent = " " * (start - line)
    return _Edit(start, end, "".join(f"{comment}\n{indent}" for comment in inside))


def _block_removal(text: str, key_node: Any, value_node: Any, found: list[tuple[int, str]]) -> _Edit:
    """A member's lines in a block mapping or list (a blank line on each side: one of them goes too);
    its comments stay, each on a line of its own at the member's indentation."""
    member_start = int((key_node or value_node).start_mark.index)
    start = _line_start(text, member_start)
    lead = text[start:member_start]
    if lead.strip() not in ("", "-" if key_node is None else ""):
        what = key_node.value if key_node is not None else getattr(value_node, "value", "an item")
        raise MigrateError(f"{what} at line {text.count(chr(10), 0, start) + 1} does not start its own line")
    end = _line_end(text, _content_end(text, value_node))
    inside = _comments_between(text, found, start, end)
    indent = lead[: len(lead) - len(lead.lstrip())]
    before_blank = start >= 1 and text[_line_start(text, start - 1) : start].strip() == ""
    after_line = text[end : _line_end(text, end)]
    if before_blank and after_line.strip() == "" and end < len(text) and not inside:
        end = _line_end(text, end)
    return _Edit(start, end, _comment_lines(inside, indent))


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
            if value.tag == _NULL:
                # `Transform: ~` (or null, or nothing) lists no transform: ProfileExpand becomes the only one.
                if not text[start:end].strip():
                    # Nothing written: the empty value's mark lies past the line; write it after the colon.
                    colon = text.find(":", _content_end(text, existing[0])) + 1
                    if not colon:
                        raise MigrateError(
                            f"no colon after {TRANSFORM} at line {existing[0].start_mark.line + 1}"
                        )
                    return _Edit(colon, colon, f" {macro}")
                return _Edit(start, end, macro)
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
