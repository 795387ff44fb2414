"""Findings and the collector that records them, bound to a resource and a path.

A function of the core either returns its result or records a finding at the Spot it was given;
nothing passes error lists around. Each finding carries the stable code of the cfn-lint rule that
reports it, so the macro and the lint rules read the same account of a template.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from profile_expand.errors import TemplateError, TemplateWarning
from profile_expand.text import Path

ERROR: Final = "error"
WARNING: Final = "warning"

# Stable codes: the cfn-lint rule that reports each kind of finding.
ROLE_AS_PROFILE: Final = "E9001"  # a role (or role ARN) where an instance profile belongs
MACRO_ERROR: Final = "E9002"  # the macro rejects the template
SHORTHAND_WITHOUT_TRANSFORM: Final = "W9001"  # IamRole in a template without Transform: ProfileExpand
MACRO_WARNING: Final = "W9002"  # the macro expands the template and says something about it


class Finding(NamedTuple):
    """One thing to tell the author: a stable code, a severity, where (resource and exact path), what."""

    code: str
    severity: str  # ERROR or WARNING
    logical_id: str  # "" for the template as a whole
    path: Path  # below the resource
    message: str

    def as_error(self) -> TemplateError:
        return TemplateError(self.logical_id, self.path, self.message)

    def as_warning(self) -> TemplateWarning:
        return TemplateWarning(self.logical_id, self.path, self.message)

    def __str__(self) -> str:
        return str(self.as_error())

    def lint_text(self) -> str:
        """The macro's findings in its own words (located, as in the stack events); the rest as they are."""
        return str(self) if self.code in (MACRO_ERROR, MACRO_WARNING) else self.message


class Diagnostics:
    """The findings of one analysis, in the order found (the readers sort them)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def at(self, logical_id: str, path: Path = ()) -> Spot:
        return Spot(self, logical_id, path)

    def has_errors(self) -> bool:
        return any(finding.code == MACRO_ERROR for finding in self.findings)


class Spot(NamedTuple):
    """A place in the template (a resource and a path below it) where findings are recorded."""

    diagnostics: Diagnostics
    logical_id: str
    path: Path

    def below(self, *steps: str | int) -> Spot:
        return Spot(self.diagnostics, self.logical_id, (*self.path, *steps))

    def error(self, message: str) -> None:
        """The macro cannot expand the template because of this."""
        self.record(MACRO_ERROR, ERROR, message)

    def warn(self, message: str) -> None:
        """The macro expands the template, and the author should know this."""
        self.record(MACRO_WARNING, WARNING, message)

    def record(self, code: str, severity: str, message: str) -> None:
        self.diagnostics.findings.append(Finding(code, severity, self.logical_id, self.path, message))
