"""`profile-expand lint` on Terraform: the front end's findings as cfn-lint matches, so that every cfn-lint
format, --non-zero-exit-code and the exit bits are the same as for templates; --fix and --ask-iam."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from profile_expand.cli.lint_command import TerraformInputs

PROG: Final = "profile-expand lint"
EXIT_FIXED_NOTHING: Final = 0


def matches(terraform: TerraformInputs, rules: Any, match: Any) -> Iterator[Any]:
    """cfn-lint Matches for the Terraform inputs, each at its file's line."""
    from cfnlint.rules.errors import ParseError  # type: ignore[import-untyped]

    from profile_expand.terraform.judge import lint_paths

    for found in lint_paths(terraform.paths):
        rule = rules.get(found.code) if found.code != ParseError.id else ParseError()
        if rule is None:
            continue  # a rule cfn-lint's configuration left out (--ignore-checks): as for templates
        yield match.create(
            message=found.message,
            filename=found.path,
            rule=rule,
            linenumber=found.line,
            columnnumber=found.column,
            linenumberend=found.line,
            columnnumberend=found.column + 1,
        )


def before_lint(terraform: TerraformInputs) -> int | None:
    """--fix rewrites the certain mistakes before the lint reports what is left; None: go on."""
    if terraform.ask_iam:
        print(f"{PROG}: error: --ask-iam is not available for Terraform yet", file=sys.stderr)
        return 2
    if terraform.fix:
        from profile_expand.cli.files import write_atomic
        from profile_expand.terraform.fix import fixes

        for path, text in fixes(terraform.paths).items():
            try:
                write_atomic(path, text)
            except OSError as error:
                print(f"{PROG}: error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
                return 2
    return None
