"""The nodes and comments of a template's text for `profile-expand migrate`: ruamel.yaml composes the file
with exact character marks, where migrate_source splices its edits; what it cannot read is located."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from profile_expand.core.errors import ProfileExpandError


class MigrateError(ProfileExpandError):
    """The file cannot be edited as planned (a layout migrate does not handle); nothing is written."""


class LocatedMigrateError(MigrateError):
    """A MigrateError at a place in the file: 1-based `line` and `column`."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def comments(text: str) -> list[tuple[int, str]]:
    """(index, text) of every comment of a YAML file, as its scanner reads them (not a # in a string)."""
    if "#" not in text:
        return []
    from ruamel.yaml import YAML

    scanned = _scannable(text)
    found: list[tuple[int, str]] = []
    with _read_by_ruamel():
        for token in YAML(typ="rt").scan(scanned):
            for comment in _comment_tokens(token):
                position = int(comment.start_mark.index)
                for line in str(comment.value).split("\n"):
                    stripped = line.strip()
                    if stripped.startswith("#"):
                        position = scanned.find(stripped, position)
                        # The author's own text (a tab inside a comment stays a tab).
                        found.append((position, text[position : position + len(stripped)]))
                        position += len(stripped)
    return sorted(set(found))


def lost_comments(original: str, migrated: str) -> list[str]:
    """A problem if a comment of the original is not in the migrated text (as many times as there)."""
    before = Counter(comment for _, comment in comments(original))
    after = Counter(comment for _, comment in comments(migrated))
    lost = sorted((before - after).elements())
    return [f"{len(lost)} comment(s) of the original are missing: {', '.join(lost[:3])}"] if lost else []


def _comment_tokens(token: Any) -> Iterator[Any]:
    attached = getattr(token, "_comment", None)
    pending: list[Any] = list(attached) if isinstance(attached, list) else []
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif item is not None and type(item).__name__ == "CommentToken":
            yield item


def _comments_between(text: str, found: list[tuple[int, str]], start: int, end: int) -> list[str]:
    return [comment for position, comment in found if start <= position < end]


def _comment_lines(comments_: list[str], indent: str) -> str:
    return "".join(f"{indent}{comment}\n" for comment in comments_)


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

    with _read_by_ruamel():
        return YAML(typ="rt").compose(_scannable(text))


def _scannable(text: str) -> str:
    """The text as ruamel.yaml reads it for positions: a tab before a comment (which the template loader
    takes and ruamel.yaml's round-trip scanner refuses) becomes a space. Same length, so every mark holds."""
    return text.replace("\t#", " #")


@contextmanager
def _read_by_ruamel() -> Iterator[None]:
    """ruamel.yaml reads the text for its positions and comments; what it cannot read is located."""
    from ruamel.yaml.error import MarkedYAMLError

    try:
        yield
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
