"""Terraform files read into blocks and attributes that keep where they were written (python-hcl2's grammar).

Values are plain Python where Terraform wrote a literal (strings, numbers, objects, tuples, heredocs), a
Traversal for a reference (`aws_iam_role.app.name`), a Call for a function, and Other for everything else
(a conditional, an interpolated string, a for expression): what nothing here may judge.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

from profile_expand.core.errors import ProfileExpandError


class Traversal(NamedTuple):
    """A reference: its names (indexes and splats left out) as written, e.g. ("aws_iam_role", "app", "arn")."""

    parts: tuple[str, ...]
    text: str


class Call(NamedTuple):
    """A function call: jsonencode(...), file(...), ..."""

    name: str
    arguments: tuple[Any, ...]
    text: str


class Other(NamedTuple):
    """An expression nothing here judges, as written."""

    text: str


class Span(NamedTuple):
    """Where something was written: 1-based line and column, and character offsets into the file's text."""

    line: int
    column: int
    start: int
    end: int


class Attribute(NamedTuple):
    name: str
    value: Any
    span: Span  # of the value


class Block(NamedTuple):
    type: str
    labels: tuple[str, ...]
    body: Body
    span: Span  # of the whole block
    address: str | None = None  # a plan's resource address (module path and index included)


class Body(NamedTuple):
    attributes: dict[str, Attribute]
    blocks: tuple[Block, ...]

    def blocks_named(self, name: str) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.type == name)


class SourceFile(NamedTuple):
    path: str
    text: str
    body: Body


class HclError(ProfileExpandError):
    """A file the parser cannot read, located."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


_HEREDOC: Final = re.compile(r"<<(-?)([A-Za-z][\w.-]*)\r?\n(.*?)\r?\n?[ \t]*\2\r?\n?\Z", re.DOTALL)


def read(path: str) -> SourceFile:
    """One .tf or .tf.json file; HclError, located, if it cannot be read."""
    try:
        # newline="": offsets into the text are offsets into the file (--fix keeps CRLF as written).
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise HclError(path, 1, 1, f"cannot read the file: {error}") from error
    if path.endswith(".json"):
        from profile_expand.terraform.hcl_json import read_json

        return SourceFile(path, text, read_json(path, text))
    return SourceFile(path, text, parse_hcl(path, text))


def parse_hcl(path: str, text: str) -> Body:
    """The body of one HCL file."""
    from hcl2.api import parses_to_tree
    from lark.exceptions import LarkError, UnexpectedInput

    source = text if text.endswith("\n") else text + "\n"
    try:
        tree = parses_to_tree(source)
    except UnexpectedInput as error:
        line, column = getattr(error, "line", 1), getattr(error, "column", 1)
        first = str(error).strip().splitlines()[0] if str(error).strip() else "syntax error"
        raise HclError(path, max(line, 1), max(column, 1), f"not valid HCL: {first}") from error
    except (LarkError, RecursionError) as error:
        raise HclError(path, 1, 1, f"not valid HCL: {type(error).__name__}") from error
    return _Reader(source).body(tree.children[0])


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text

    def span(self, node: Any) -> Span:
        if hasattr(node, "meta"):
            meta = node.meta
            return Span(meta.line, meta.column, meta.start_pos, meta.end_pos)
        return Span(node.line, node.column, node.start_pos, node.end_pos)

    def source(self, node: Any) -> str:
        span = self.span(node)
        return self.text[span.start : span.end]

    def body(self, tree: Any) -> Body:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            kind = getattr(child, "data", None)
            if kind == "attribute":
                name = self.name(child.children[0])
                value_node = child.children[-1]
                attributes[name] = Attribute(name, self.value(value_node), self.span(value_node))
            elif kind == "block":
                names = [c for c in child.children if getattr(c, "data", None) in _NAME_RULES]
                inner = next(c for c in child.children if getattr(c, "data", None) == "body")
                labels = tuple(self.name(c) for c in names)
                blocks.append(Block(labels[0], labels[1:], self.body(inner), self.span(child)))
        return Body(attributes, tuple(blocks))

    def name(self, node: Any) -> str:
        if node.data == "string":
            value = self.value(node)
            return value if isinstance(value, str) else self.source(node)
        return str(node.children[0])

    def value(self, node: Any) -> Any:
        kind = getattr(node, "data", None)
        if kind == "expr_term":
            inner = [c for c in node.children if hasattr(c, "data")]
            if len(inner) == 1 and len(node.children) == 1:
                return self.value(inner[0])
            if len(inner) == 1:  # ( expression )
                return self.value(inner[0])
            return Other(self.source(node))
        if kind == "string":
            return self._string(node)
        if kind in ("int_lit", "float_lit"):
            return (
                json.loads(str(node.children[0]))
                if str(node.children[0]).lstrip("-").isdigit()
                else float(node.children[0])
            )
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[str(node.children[0])]
        if kind == "identifier":
            return Traversal((str(node.children[0]),), self.source(node))
        if kind in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
            return self._traversal(node)
        if kind == "object":
            result: dict[str, Any] = {}
            for element in node.children:
                if getattr(element, "data", None) != "object_elem":
                    continue
                key_node = element.children[0].children[0]
                key = self.value(key_node)
                if isinstance(key, Traversal) and len(key.parts) == 1:
                    key = key.parts[0]
                if not isinstance(key, str):
                    return Other(self.source(node))
                result[key] = self.value(element.children[-1])
            return result
        if kind == "tuple":
            return [
                self.value(c) for c in node.children if hasattr(c, "data") and c.data != "new_line_or_comment"
            ]
        if kind == "function_call":
            name = str(node.children[0].children[0])
            arguments = next((c for c in node.children if getattr(c, "data", None) == "arguments"), None)
            values = (
                ()
                if arguments is None
                else tuple(
                    self.value(c)
                    for c in arguments.children
                    if hasattr(c, "data") and c.data != "new_line_or_comment"
                )
            )
            return Call(name, values, self.source(node))
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(str(node.children[0]), trim=kind == "heredoc_template_trim")
        return Other(self.source(node))

    def _string(self, node: Any) -> Any:
        parts = []
        for part in node.children:
            if getattr(part, "data", None) != "string_part":
                continue
            (piece,) = part.children
            if hasattr(piece, "data"):  # an interpolation or a template directive
                return Other(self.source(node))
            text = str(piece)
            if piece.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                text = text[1:]
            parts.append(text)
        raw = "".join(parts)
        try:
            decoded: str = json.loads(f'"{raw}"')
        except ValueError:
            return raw
        return decoded

    def _traversal(self, node: Any) -> Any:
        names: list[str] = []
        self._names(node, names)
        return Traversal(tuple(names), self.source(node)) if names else Other(self.source(node))

    def _names(self, node: Any, names: list[str]) -> None:
        kind = getattr(node, "data", None)
        if kind == "identifier":
            names.append(str(node.children[0]))
        elif kind == "get_attr":
            names.append(str(node.children[-1].children[0]))
        elif kind in (
            "expr_term",
            "get_attr_expr_term",
            "index_expr_term",
            "attr_splat_expr_term",
            "full_splat_expr_term",
            "attr_splat",
            "full_splat",
        ):
            for child in node.children:
                if hasattr(child, "data"):
                    self._names(child, names)

    def _heredoc(self, token: str, *, trim: bool) -> Any:
        match = _HEREDOC.match(token)
        if match is None or "${" in match[3] or "%{" in match[3]:
            return Other(token)
        lines = match[3].split("\n")
        if trim:
            indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
            lines = [line[indent:] for line in lines]
        return "\n".join(lines)


_NAME_RULES: Final = ("identifier", "string", "keyword", "literal_value")
