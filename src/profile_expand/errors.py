"""The exception tree: every problem in a template is a TemplateError, reported together."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class ProfileExpandError(Exception):
    """Base of every error this package raises on purpose."""


class TemplateError(NamedTuple):
    """One problem in the template, located by resource logical ID and property path.

    `path` is a tuple of keys and list indexes below the resource, e.g. ("Properties", "IamRole").
    """

    logical_id: str
    path: tuple[str | int, ...]
    message: str

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        logical_id = self.logical_id if len(self.logical_id) <= 80 else self.logical_id[:77] + "..."
        where = f"Resource {logical_id}" if logical_id else "Template"
        if self.path:
            where += f", {self.dotted_path}"
        return f"{where}: {self.message}"


class InvalidTemplateError(ProfileExpandError):
    """The template cannot be expanded; `errors` holds every problem found, sorted by logical ID."""

    def __init__(self, errors: Iterable[TemplateError]) -> None:
        self.errors: tuple[TemplateError, ...] = tuple(sorted(set(errors), key=_sort_key))
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        count = len(self.errors)
        noun = "error" if count == 1 else "errors"
        return f"ProfileExpand found {count} {noun}. " + " ".join(
            f"[{index}] {error}" for index, error in enumerate(self.errors, start=1)
        )


class InvalidEventError(ProfileExpandError):
    """The macro event itself is unusable (no fragment, or used as a snippet-level Fn::Transform)."""


def _sort_key(error: TemplateError) -> tuple[str, tuple[tuple[int, str | int], ...], str]:
    """By logical ID, then path (list indexes before keys, so mixed paths still compare), then message."""
    return (
        error.logical_id,
        tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in error.path),
        error.message,
    )


def format_path(path: Iterable[str | int]) -> str:
    """("Properties", "Specs", 0, "IamRole") -> "Properties.Specs[0].IamRole"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
