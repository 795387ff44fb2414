"""`profile-expand lint` on Terraform: the front end's findings as cfn-lint matches, so that every cfn-lint
format, --non-zero-exit-code and the exit bits are the same as for templates; --fix and --ask-iam."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from profile_expand.cli.lint_command import TerraformInputs

PROG: Final = "profile-expand lint"
# IAM could not answer --ask-iam: neither a finding (1, 2, 4, 8: cfn-lint's bits) nor usage (2 alone).
EXIT_IAM_UNAVAILABLE: Final = 16


def matches(terraform: TerraformInputs, rules: Any, match: Any) -> Iterator[Any]:
    """cfn-lint Matches for the Terraform inputs, each at its file's line."""
    from cfnlint.rules.errors import ParseError  # type: ignore[import-untyped]

    from profile_expand.core.errors import PROFILE_NOT_FOUND, GuardUnavailable
    from profile_expand.terraform.judge import lint_paths

    try:
        found_all = lint_paths(terraform.paths, iam=_iam() if terraform.ask_iam else None)
    except GuardUnavailable as error:
        # The account's trouble (no credentials, access denied, throttled), never a finding.
        message = str(error).replace("The ProfileExpand guard", "--ask-iam")
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_IAM_UNAVAILABLE) from error
    for found in found_all:
        rule = rules.get(found.code) if found.code != ParseError.id else ParseError()
        if rule is None and found.code == PROFILE_NOT_FOUND and terraform.ask_iam:
            rule = _profile_not_found_rule()  # the guard's code: no template rule reports it
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


def _iam() -> Any:
    """The guard's read-only IAM door (GetInstanceProfile, GetRole), through boto3's credential chain;
    boto3 itself honours AWS_ENDPOINT_URL_IAM."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError
    except ImportError as error:
        from profile_expand.core.errors import GuardUnavailable, missing_extra

        raise GuardUnavailable(f"--ask-iam needs {missing_extra(error, 'iam')}") from error
    from profile_expand.guard.aws import BotoIam

    try:
        client = boto3.client("iam", config=Config(retries={"max_attempts": 3, "mode": "standard"}))
    except BotoCoreError as error:
        from profile_expand.core.errors import GuardUnavailable

        raise GuardUnavailable(f"--ask-iam cannot make an IAM client: {error}") from error
    return BotoIam(client)


# Terraform alone in the text or parseable format: no template for cfn-lint, so cfn-lint (a second of CPU
# to import) is not loaded. The two formats are cfn-lint's own, byte for byte (a test compares them).
_LIGHT_FORMATS: Final = ("", "parseable")  # "": no --format, cfn-lint's default text
_EXIT_BITS: Final = {"error": 2, "warning": 4, "informational": 8}
_EXIT_LEVELS: Final = {
    "informational": ("informational", "warning", "error"),
    "warning": ("warning", "error"),
    "error": ("error",),
    "none": (),
}
_NEWLINES: Final = re.compile(r"(\r*\n)+")
_CONFIG_FILES: Final = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")


def without_cfn_lint(terraform: TerraformInputs, options: Sequence[str]) -> int | None:
    """Lint Terraform alone without loading cfn-lint, when the call asks for nothing else of it (no
    template, no .cfnlintrc, only the default format or parseable, and --non-zero-exit-code); None otherwise."""
    settings = {"format": "", "non_zero_exit_code": "informational"}
    remaining = list(options)
    while remaining:
        option = remaining.pop(0)
        name, _, value = option.partition("=")
        key = {"--format": "format", "-f": "format", "--non-zero-exit-code": "non_zero_exit_code"}.get(name)
        if option == "--":
            continue
        if key is None or (not value and not remaining):
            return None
        settings[key] = value or remaining.pop(0)
    if settings["format"] not in _LIGHT_FORMATS or settings["non_zero_exit_code"] not in _EXIT_LEVELS:
        return None
    if any(Path(name).exists() or (Path.home() / name).exists() for name in _CONFIG_FILES):
        return None
    from profile_expand.cli import files
    from profile_expand.core.errors import GuardUnavailable
    from profile_expand.terraform.judge import lint_paths

    try:
        found = lint_paths(terraform.paths, iam=_iam() if terraform.ask_iam else None)
    except GuardUnavailable as error:
        message = str(error).replace("The ProfileExpand guard", "--ask-iam")
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_IAM_UNAVAILABLE
    if not settings["format"]:
        lines = [f"{f.code} {f.message}\n{f.path}:{f.line}:{f.column}\n" for f in found]
    else:
        lines = [
            f"{f.path}:{f.line}:{f.column}:{f.line}:{f.column + 1}:{f.code}:{_NEWLINES.sub(' ', f.message)}"
            for f in found
        ]
    if lines:
        try:
            files.write_stdout("\n".join(lines) + "\n")
        except OSError as error:
            files.silence_stdout()
            print(f"{PROG}: error: cannot write standard output: {error.strerror or error}", file=sys.stderr)
            return 2
    levels = _EXIT_LEVELS[settings["non_zero_exit_code"]]
    code = 0
    for item in found:
        if item.severity in levels:
            code |= _EXIT_BITS[item.severity]
    return code


def before_lint(terraform: TerraformInputs) -> int | None:
    """--fix rewrites the certain mistakes before the lint reports what is left; None: go on."""
    if terraform.fix:
        from profile_expand.cli.files import write_atomic
        from profile_expand.terraform.fix import fixes

        done = fixes(terraform.paths)
        for path, text in done.texts.items():
            try:
                write_atomic(path, text)
            except OSError as error:
                print(f"{PROG}: error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
                return 2
        # What --fix left as written, and why: the lint below still reports each of them.
        for left in done.left:
            print(f"{PROG} --fix: {left.path}:{left.line}:{left.column}: {left.reason}", file=sys.stderr)
    return None


def _profile_not_found_rule() -> Any:
    """E9009 as a cfn-lint rule for --ask-iam's output: what the guard reports when IAM has no such profile."""
    from cfnlint.rules import CloudFormationLintRule  # type: ignore[import-untyped]

    from profile_expand.core.errors import PROFILE_NOT_FOUND

    class ProfileNotFound(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
        id = PROFILE_NOT_FOUND
        shortdesc = "Instance profile not found in the account"
        description = "IAM has no instance profile of this name (nor a role of it): --ask-iam asked."
        source_url = "https://github.com/profile-expand/profile-expand#lint-rules"
        tags = ["iam", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)

    return ProfileNotFound()
