"""Template files in and out: decode with positions (cfn-lint's decoder), dump with short-form tags.

Used by the CLI only; the core sees plain dicts, lists and strings. Scalars are read as CloudFormation reads
them: YAML 1.1 (`yes` is true, `017` is 15, as cfn-lint reads them too), except that a timestamp stays the
text the author wrote, and the tags CloudFormation does not support (`!!set`, `!!binary`, `!!omap`,
`!!pairs`) are refused at their line rather than changed into something else.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import yaml
from cfnlint.decode import cfn_json, cfn_yaml  # type: ignore[import-untyped]
from cfnlint.decode.mark import Mark  # type: ignore[import-untyped]
from cfnlint.decode.node import dict_node, str_node  # type: ignore[import-untyped]

from profile_expand.core import cfn
from profile_expand.core.cfn import to_plain
from profile_expand.core.errors import TemplateSyntaxError
from profile_expand.core.template_text import yaml_syntax_error

# Mappings and lists nested deeper than this are refused at the first one too deep: the decoders and the
# steps after them recurse, and no real template comes near it.
MAX_NESTING: Final = 100
# YAML tags CloudFormation does not support (its template-formats documentation): refused, never converted.
_UNSUPPORTED_TAGS: Final = {"set": "!!set", "binary": "!!binary", "omap": "!!omap", "pairs": "!!pairs"}


class Format(Enum):
    YAML = "yaml"
    JSON = "json"


@dataclass(frozen=True)
class Decoded:
    """A decoded template: `nodes` keeps cfn-lint's positions, `plain` is what the core receives."""

    nodes: Any
    format: Format

    @property
    def plain(self) -> Any:
        return to_plain(self.nodes)


def detect_format(text: str) -> Format:
    """JSON when the first non-blank character opens an object, as CloudFormation tells them apart."""
    return Format.JSON if text.lstrip().startswith("{") else Format.YAML


def decode(text: str, filename: str | None = None) -> Decoded:
    """Decode a template, keeping line/column marks on mappings, lists and strings.

    JSON goes through cfn-lint's JSON decoder (strict JSON, duplicate keys rejected); everything else
    through its YAML loader, which turns `!Ref X` into `{"Ref": "X"}` as CloudFormation does.
    """
    fmt = detect_format(text)
    if fmt is Format.JSON:
        return Decoded(_decode_json(text), fmt)
    return Decoded(_decode_yaml(text, filename), fmt)


def _decode_json(text: str) -> Any:
    _check_json_nesting(text)
    try:
        nodes = cfn_json.loads(text)
    except cfn_json.JSONDecodeError as error:
        # cfn-lint's own error carries matches (duplicate keys, bad delimiters) with 1-based lines.
        first = error.matches[0]
        raise TemplateSyntaxError(first.linenumber, first.columnnumber, first.message) from error
    except json.JSONDecodeError as error:
        raise TemplateSyntaxError(error.lineno, error.colno, error.msg) from error
    except ValueError as error:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        found = re.search(rf"\d{{{_max_digits() + 1},}}", text)
        offset = found.start() if found else 0
        line, column = _line_column(text, offset)
        raise TemplateSyntaxError(line, column, _too_many_digits(len(found[0]) if found else 0)) from error
    _check_values(nodes)
    return nodes


def _decode_yaml(text: str, filename: str | None) -> Any:
    try:
        nodes = _load_yaml(text, filename)
    except cfn_yaml.CfnParseError as error:
        first = error.matches[0]
        raise TemplateSyntaxError(first.linenumber, first.columnnumber, first.message) from error
    except yaml.YAMLError as error:
        raise yaml_syntax_error(error) from error
    except RecursionError as error:
        line, column = _yaml_too_deep(text)
        raise TemplateSyntaxError(line, column, _too_deep()) from error
    _check_values(nodes)
    return nodes


class _Loader(cfn_yaml.CfnFullLoader):  # type: ignore[misc]
    """cfn-lint's YAML loader, with the scalar readings of the module docstring."""


def _located_error(node: Any, message: str) -> cfn_yaml.CfnParseError:
    mark = node.start_mark
    match = cfn_yaml.build_match(None, message, mark.line, mark.column, "")
    return cfn_yaml.CfnParseError(None, [match])


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    # CloudFormation has no timestamp type: `2010-09-09` or `2030-01-01T00:00:00Z` is the text as written.
    return str_node(node.value, node.start_mark, node.end_mark)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_int(node)
    except ValueError as error:
        raise _located_error(node, _too_many_digits(sum(c.isdigit() for c in node.value))) from error


def _refuse_tag(tag: str) -> Any:
    def refuse(loader: _Loader, node: yaml.Node) -> Any:
        raise _located_error(
            node,
            f"CloudFormation does not support the YAML tag {tag}: write the value as a plain list, mapping "
            "or string",
        )

    return refuse


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
for _name, _tag in _UNSUPPORTED_TAGS.items():
    _Loader.add_constructor(f"tag:yaml.org,2002:{_name}", _refuse_tag(_tag))
_Loader.add_multi_constructor("!", cfn_yaml.multi_constructor)


def _load_yaml(text: str, filename: str | None) -> Any:
    """cfn_yaml.loads with this module's loader: the same nodes, marks and checks."""
    loader = _Loader(text, filename)
    try:
        template = loader.get_single_data()
    except (yaml.YAMLError, RecursionError):
        raise
    except Exception as error:  # as cfn_yaml.loads: cfn-lint's constructors fail on odd keys (`yes:` twice)
        match = cfn_yaml.build_match(filename, f"Template could not be parsed: {error}", 0, 0, "")
        raise cfn_yaml.CfnParseError(filename, [match]) from error
    finally:
        loader.dispose()
    if template is None:
        return dict_node({}, Mark(0, 0), Mark(0, 0))
    if "&" in text:
        # cfn-lint's guard against alias amplification ("billion laughs").
        cfn_yaml._guard_alias_expansion(template, filename)
    return template


def _max_digits() -> int:
    limit: int = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    return limit


def _too_many_digits(digits: int) -> str:
    return f"an integer of {digits} digits; at most {_max_digits()} are read: quote it to make it a string"


def _too_deep() -> str:
    return f"mappings and lists nested more than {MAX_NESTING} levels deep; profile-expand reads up to {MAX_NESTING}"


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


_JSON_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_json_nesting(text: str) -> None:
    """Refuse JSON nested too deeply before cfn-lint's recursive decoder meets it."""
    if text.count("{") + text.count("[") <= MAX_NESTING:
        return
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        kind = token[0]
        if kind in "{[":
            depth += 1
            if depth > MAX_NESTING:
                line, column = _line_column(text, token.start())
                raise TemplateSyntaxError(line, column, _too_deep())
        elif kind in "}]":
            depth -= 1


def _yaml_too_deep(text: str) -> tuple[int, int]:
    """Where YAML first nests deeper than MAX_NESTING (parser events only, nothing constructed)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING and event.start_mark is not None:
                    return event.start_mark.line + 1, event.start_mark.column + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return 1, 1


def _check_values(nodes: Any) -> None:
    """Refuse, at its place, a template nested deeper than MAX_NESTING or holding a number JSON cannot hold.

    CloudFormation's processed template is JSON: `.inf`, `.nan` or `1e400` have no JSON form (Python's
    would write `Infinity`, which no JSON reader takes). No recursion: the depth is what is checked.
    """
    stack: list[tuple[Any, int]] = [(nodes, 0)]
    while stack:
        node, depth = stack.pop()
        entries: list[tuple[Any, Any]]
        if isinstance(node, Mapping):
            entries = list(node.items())
        elif isinstance(node, list):
            entries = [(None, child) for child in node]
        else:
            continue
        if depth >= MAX_NESTING:
            line, column = _mark_position(node) or (1, 1)
            raise TemplateSyntaxError(line, column, _too_deep())
        for key, child in entries:
            if isinstance(child, float) and not math.isfinite(child):
                # A number has no mark of its own: its key's, or its list's.
                line, column = _mark_position(key) or _mark_position(node) or (1, 1)
                raise TemplateSyntaxError(
                    line, column, f"the number {child} has no JSON form, so no CloudFormation value: quote it"
                )
            stack.append((child, depth + 1))


# ---------------------------------------------------------------------------------------------------
# Positions


def _mark_position(node: object) -> tuple[int, int] | None:
    mark = getattr(node, "start_mark", None)
    if mark is None:
        return None
    return (int(mark.line) + 1, int(mark.column) + 1)


@dataclass(frozen=True)
class Located:
    """How far a path reaches into a decoded template: the deepest node found and where it starts."""

    position: tuple[int, int]
    depth: int
    node: Any


def locate(decoded: Any, path: Sequence[str | int], *, at_key: bool = False) -> Located:
    """Follow `path` as far as it exists in `decoded`.

    A mapping entry is located at its value, or at its key with `at_key` (where cfn-lint reports);
    a value without a mark (a number, a JSON string) is located at its key.
    """
    node = decoded
    best = _mark_position(decoded) or (1, 1)
    depth = 0
    for step in path:
        child: Any
        if isinstance(node, Mapping) and isinstance(step, str) and step in node:
            key = next(k for k in node if k == step)
            child = node[key]
            marks = (key, child) if at_key else (child, key)
            best = _mark_position(marks[0]) or _mark_position(marks[1]) or best
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            child = node[step]
            best = _mark_position(child) or best
        else:
            break
        node = child
        depth += 1
    return Located(best, depth, node)


def position_of(decoded: Any, path: Sequence[str | int]) -> tuple[int, int]:
    """1-based (line, column) of the value at `path` in a decoded template, or of its nearest ancestor.

    >>> position_of(decode("Resources:\\n  A:\\n    Type: X\\n").nodes, ("Resources", "A", "Type"))
    (3, 11)
    """
    return locate(decoded, path).position


# ---------------------------------------------------------------------------------------------------
# Output

# Intrinsic functions with a YAML short form (`!Name`), keyed by their long form.
SHORT_FORMS: Final[dict[str, str]] = {
    cfn.REF: "!Ref",
    cfn.CONDITION: "!Condition",
    **{
        f"Fn::{name}": f"!{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAZs",
            "GetAtt",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "Transform",
        )
    },
}


_SHORT_TAGS: Final = frozenset(SHORT_FORMS.values())
# Intrinsic arguments up to this many characters of scalars are written on one line, `!If [A, B, C]`.
_FLOW_BUDGET: Final = 72


def _short_form(value: object) -> tuple[str, Any] | None:
    """(tag, argument) when `value` is an intrinsic that has a short form."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        tag = SHORT_FORMS.get(key)
        if tag is not None:
            return tag, argument
    return None


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing intrinsics as short-form tags and multi-line strings as `|` blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        # CloudFormation rejects YAML anchors and aliases; a shared object is written out each time.
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as CloudFormation's own examples do.
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # PyYAML quotes every scalar with an unknown tag (`!Ref 'Vpc'`); the argument of a short form
        # is read back as a string whatever it looks like, so it may stay plain (`!Ref Vpc`).
        style = super().choose_scalar_style()
        event = self.event
        if (
            style == "'"
            and isinstance(event, yaml.ScalarEvent)
            and not event.style
            and event.tag in _SHORT_TAGS
            and self.analysis is not None
            and not self.analysis.empty
            and not self.analysis.multiline
            and (self.analysis.allow_flow_plain if self.flow_level else self.analysis.allow_block_plain)
        ):
            return ""
        return style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_tagged(dumper: yaml.SafeDumper, tag: str, argument: Any) -> yaml.Node:
    if tag == "!GetAtt" and _getatt_dotted(argument):
        return dumper.represent_scalar(tag, f"{argument[0]}.{argument[1]}")
    if isinstance(argument, str) and tag != "!GetAtt":
        return dumper.represent_scalar(tag, argument, style="|" if "\n" in argument else None)
    if isinstance(argument, list):
        return dumper.represent_sequence(tag, argument, flow_style=_flow_size(argument) <= _FLOW_BUDGET)
    if isinstance(argument, dict):
        return dumper.represent_mapping(tag, argument)
    # A number or boolean argument (e.g. `Ref: 3`) would read back as a string under a tag, and
    # `!GetAtt Res.Attr` reads back as a list: these keep their long form, and so their exact value.
    return dumper.represent_mapping("tag:yaml.org,2002:map", {_long_form(tag): argument})


def _flow_size(value: Any) -> int:
    """Characters of scalars in a flow-writable value; more than the budget when it cannot be flow."""
    too_big = _FLOW_BUDGET + 1
    if isinstance(value, str):
        return too_big if "\n" in value else len(value) + 2
    if isinstance(value, bool | int | float) or value is None:
        return len(str(value)) + 2
    if isinstance(value, list):
        return sum(_flow_size(item) for item in value) + 2
    short = _short_form(value)
    if short is not None and _short_form(short[1]) is None:
        tag, argument = short
        return len(tag) + 1 + _flow_size(argument)
    return too_big


def _long_form(tag: str) -> str:
    return next(key for key, short in SHORT_FORMS.items() if short == tag)


def _getatt_dotted(argument: Any) -> bool:
    """`!GetAtt Res.Attr` reads back as ["Res", "Attr"] when the logical ID has no dot."""
    return (
        isinstance(argument, list)
        and len(argument) == 2
        and all(isinstance(part, str) for part in argument)
        and "." not in argument[0]
        and bool(argument[0])
        and bool(argument[1])
    )


def _represent_dict(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.Node:
    short = _short_form(value)
    if short is not None:
        tag, argument = short
        # YAML allows one tag per node, so `!Base64 !Sub ...` cannot be written: the outer function
        # keeps its long form when its whole argument is itself a short-form intrinsic.
        if _short_form(argument) is None:
            return _represent_tagged(dumper, tag, argument)
    return dumper.represent_mapping("tag:yaml.org,2002:map", value)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(template: Any) -> str:
    """YAML text with short-form intrinsics, key order kept, multi-line strings as block literals."""
    text: str = yaml.dump(
        template,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        # No line folding: long ARNs and policy strings stay on one line.
        width=2**31 - 1,
        indent=2,
    )
    return text


def dump_json(template: Any) -> str:
    """Exactly the JSON the macro's fragment serializes to, plus a final newline."""
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def dump(template: Any, fmt: Format) -> str:
    return dump_json(template) if fmt is Format.JSON else dump_yaml(template)
