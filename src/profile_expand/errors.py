"""The exception tree (one base class, ProfileExpandError) and the located messages the core reports.

A TemplateError stops an expansion and a TemplateWarning does not; both name a resource and a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from profile_expand.text import format_path

__all__ = [
    "ChainError",
    "ChainProblem",
    "CommandExit",
    "InvalidEventError",
    "InvalidTemplateError",
    "OverrideSpecError",
    "ProfileExpandError",
    "TemplateError",
    "TemplateSyntaxError",
    "TemplateWarning",
    "format_path",
]


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
        return _located(self.logical_id, self.path, self.message)


class TemplateWarning(NamedTuple):
    """Something the expansion did or saw that the author should know; it does not stop the expansion."""

    logical_id: str
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return _located(self.logical_id, self.path, self.message)


def _located(logical_id: str, path: tuple[str | int, ...], message: str) -> str:
    shown = logical_id if len(logical_id) <= 80 else logical_id[:77] + "..."
    where = f"Resource {shown}" if logical_id else "Template"
    if path:
        where += f", {format_path(path)}"
    return f"{where}: {message}"


class ProfileExpandError(Exception):
    """Base of every error this package raises on purpose."""


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


class TemplateSyntaxError(ProfileExpandError):
    """The text is not valid YAML/JSON (or has duplicate keys); line and column are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class ChainProblem(NamedTuple):
    """One problem a transform reported: located by a template path, or by its own 1-based position."""

    message: str
    path: tuple[str | int, ...] = ()
    position: tuple[int, int] | None = None


class ChainError(ProfileExpandError):
    """A transform before ProfileExpand (AWS::LanguageExtensions, SAM) failed on this template."""

    def __init__(self, transform: str, problems: list[ChainProblem]) -> None:
        self.transform = transform
        self.problems = problems
        super().__init__(f"{transform}: " + " ".join(problem.message for problem in problems))


class OverrideSpecError(ProfileExpandError):
    """A site's path does not lead to a property in cfn-lint's schema for its resource type."""


class CommandExit(ProfileExpandError):
    """Stop a command of the CLI with this exit code (its message has been printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _sort_key(error: TemplateError) -> tuple[str, tuple[tuple[int, str | int], ...], str]:
    """By logical ID, then path (list indexes before keys, so mixed paths still compare), then message."""
    return (
        error.logical_id,
        tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in error.path),
        error.message,
    )
