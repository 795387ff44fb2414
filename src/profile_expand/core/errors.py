"""What goes wrong, and where: the exception tree (one base class, ProfileExpandError), the located
messages the core reports (TemplateError stops an expansion, TemplateWarning does not), and the
findings of an analysis with the collector that records them, bound to a resource and a path.

A function of the core either returns its result or records a finding at the Spot it was given;
nothing passes error lists around. Each finding carries the stable code of the cfn-lint rule that
reports it, so the macro and the lint rules read the same account of a template.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Iterable
from typing import Final, NamedTuple

from profile_expand.core.text import Path, format_path

__all__ = [
    "ChainError",
    "ChainProblem",
    "CommandExit",
    "Diagnostics",
    "Finding",
    "GuardUnavailable",
    "InvalidEventError",
    "InvalidTemplateError",
    "Located",
    "OverrideSpecError",
    "ProfileExpandError",
    "Spot",
    "TemplateError",
    "TemplateSyntaxError",
    "TemplateWarning",
    "format_path",
]


class Located(NamedTuple):
    """A message about one place: a resource's logical ID ("" for the whole template) and a path below it.

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


class TemplateError(Located):
    """One problem in the template: the expansion cannot go on."""

    __slots__ = ()


class TemplateWarning(Located):
    """Something the expansion did or saw that the author should know; it does not stop the expansion."""

    __slots__ = ()


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
        self.errors: tuple[TemplateError, ...] = tuple(sorted(set(errors), key=error_order))
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


class ChainProblem:
    """One problem a transform reported: located by a template path, or by its own 1-based position.

    A plain class: the Lambda imports this module, and never needs this class built at cold start.
    """

    __slots__ = ("message", "path", "position")

    def __init__(
        self, message: str, path: tuple[str | int, ...] = (), position: tuple[int, int] | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.position = position

    def __repr__(self) -> str:
        return f"ChainProblem({self.message!r}, path={self.path!r}, position={self.position!r})"


class ChainError(ProfileExpandError):
    """A transform before ProfileExpand (AWS::LanguageExtensions, SAM) failed on this template."""

    def __init__(self, transform: str, problems: list[ChainProblem]) -> None:
        self.transform = transform
        self.problems = problems
        super().__init__(f"{transform}: " + " ".join(problem.message for problem in problems))


class OverrideSpecError(ProfileExpandError):
    """A site's path does not lead to a property in cfn-lint's schema for its resource type."""


class GuardUnavailable(ProfileExpandError):
    """The guard could not ask IAM or read a hook's payload (denied, throttled, timed out, refused).

    The hook answers InternalFailure, never NonCompliant: a mis-permissioned guard never blames a template.
    `cause` is what the guard's log may say of it (an operation and an error code: never a value).
    """

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or "unavailable"


class CommandExit(ProfileExpandError):
    """Stop a command of the CLI with this exit code (its message has been printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# The package's extras (pyproject.toml's optional-dependencies) and the distribution of each module they
# bring; a test keeps them in step with pyproject.toml.
EXTRAS: Final = {
    "sam": ("aws-sam-translator",),
    "rollout": ("boto3", "aws-sam-translator"),
    "iam": ("boto3",),
}
_DISTRIBUTIONS: Final = {"samtranslator": "aws-sam-translator", "boto3": "boto3", "botocore": "boto3"}


def missing_extra(error: ImportError, extra: str) -> str:
    """What to install when an import of `extra`'s packages failed, naming the package that is missing.

    >>> missing_extra(ModuleNotFoundError("No module named 'samtranslator'", name="samtranslator"), "sam")
    "aws-sam-translator, which is not installed: ProfileExpand is not on PyPI, so from its checkout run `pip install -e '.[sam]'` (in the checkout's .venv: `.venv/bin/pip install -e '.[sam]'`), or `pip install aws-sam-translator` where profile-expand runs"
    """
    module = (error.name or "").split(".")[0]
    missing = _DISTRIBUTIONS.get(module, module or str(error))
    return (
        f"{missing}, which is not installed: ProfileExpand is not on PyPI, so from its checkout run "
        f"`pip install -e '.[{extra}]'` (in the checkout's .venv: `.venv/bin/pip install -e '.[{extra}]'`), "
        f"or `pip install {' '.join(EXTRAS[extra])}` where profile-expand runs"
    )


def error_order(error: "TemplateError | Finding") -> tuple[str, tuple[tuple[int, str | int], ...], str]:
    """By logical ID, then path (list indexes before keys, so mixed paths still compare), then message."""
    return (
        error.logical_id,
        tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in error.path),
        error.message,
    )


# -- findings ----------------------------------------------------------------------------------------

ERROR: Final = "error"
WARNING: Final = "warning"

# Stable codes: the cfn-lint rule that reports each kind of finding.
ROLE_AS_PROFILE: Final = "E9001"  # a role (or role ARN) where an instance profile belongs
MACRO_ERROR: Final = "E9002"  # the macro rejects the template
SHORTHAND_WITHOUT_TRANSFORM: Final = "W9001"  # IamRole in a template without Transform: ProfileExpand
MACRO_WARNING: Final = "W9002"  # the macro expands the template and says something about it
PROFILE_ARN_AS_NAME: Final = "E9003"  # an instance profile's ARN where only its name is taken
PROFILE_NAME_AS_ARN: Final = "E9004"  # an instance profile's name where only its ARN is taken
ROLE_ARN_IN_PROFILE: Final = "E9005"  # an instance profile's Roles holds a role ARN, not a name
ROLE_NAME_AS_PROFILE: Final = "E9006"  # a template role's literal RoleName where a profile belongs
ROLE_EC2_CANNOT_ASSUME: Final = "E9007"  # a role in a used profile whose trust policy leaves EC2 out
SERVICE_NAME_RULE: Final = "E9008"  # a hand-written profile (or its role) breaks a service's naming rule
SERVICE_NAME_RULE_UNCERTAIN: Final = "W9003"  # ... may break it: the name is generated or an intrinsic
PROFILE_UNORDERED: Final = "W9004"  # a template profile named at a site that nothing orders after it
# Only the guard (a CloudFormation hook that can ask IAM) reports this: no such profile in the account.
PROFILE_NOT_FOUND: Final = "E9009"


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
        """Located, every code alike: resource and property path first, as in the stack events."""
        return str(self)


class Diagnostics:
    """The findings of one analysis, in the order found (the readers sort them)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def at(self, logical_id: str, path: Path = ()) -> "Spot":
        return Spot(self, logical_id, path)

    def has_errors(self) -> bool:
        return any(finding.code == MACRO_ERROR for finding in self.findings)


class Spot:
    """A place in the template (a resource and a path below it) where findings are recorded.

    A plain class with slots, not a NamedTuple: one fewer class to build at cold start. Never changed.
    """

    __slots__ = ("diagnostics", "logical_id", "path")

    def __init__(self, diagnostics: Diagnostics, logical_id: str, path: Path) -> None:
        self.diagnostics = diagnostics
        self.logical_id = logical_id
        self.path = path

    def below(self, *steps: str | int) -> "Spot":
        return Spot(self.diagnostics, self.logical_id, (*self.path, *steps))

    def error(self, message: str) -> None:
        """The macro cannot expand the template because of this."""
        self.record(MACRO_ERROR, ERROR, message)

    def warn(self, message: str) -> None:
        """The macro expands the template, and the author should know this."""
        self.record(MACRO_WARNING, WARNING, message)

    def record(self, code: str, severity: str, message: str) -> None:
        self.diagnostics.findings.append(Finding(code, severity, self.logical_id, self.path, message))
