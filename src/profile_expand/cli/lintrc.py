"""`profile-expand cfnlintrc`: write or merge the `.cfnlintrc` that teaches cfn-lint and `sam validate --lint`
the shorthand (this package's rules, by module name), keeping the project's other settings.

Nothing in the file depends on the machine: cfn-lint imports the rules module wherever the package is
installed, and the rules apply the override spec to cfn-lint's schemas themselves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from profile_expand.cli import files, words
from profile_expand.core.errors import ProfileExpandError

PROG: Final = "profile-expand cfnlintrc"
DEFAULT_FILE: Final = Path(".cfnlintrc")
RULES_MODULE: Final = "profile_expand.lint.rules"
APPEND_RULES: Final = "append_rules"
OVERRIDE_SPEC: Final = "override_spec"
CONFIGURE_RULES: Final = "configure_rules"
# Our override file wherever it is installed (another venv, an older install): no longer needed, removed.
_OURS: Final = ("profile_expand", "lint", "data", "override-spec.json")


class LintrcError(ProfileExpandError):
    """The existing configuration cannot be merged without losing a setting; the message says which."""


def merge(existing: Mapping[str, Any] | None, macro_name: str | None = None) -> dict[str, Any]:
    """The configuration with our rules appended; other keys unchanged, a path to our override spec removed.

    macro_name (the name the macro is deployed under, template.yaml's MacroName) is set for each of our
    rules in configure_rules, beside whatever else the project configures for them; None leaves
    configure_rules as it is. A project's own override spec stays: the rules patch the schemas besides.

    >>> merge({"ignore_checks": ["W3005"], "override_spec": "/venv/profile_expand/lint/data/override-spec.json"})
    {'ignore_checks': ['W3005'], 'append_rules': ['profile_expand.lint.rules']}
    """
    result = dict(existing or {})
    rules = result.get(APPEND_RULES, [])
    rules = [rules] if isinstance(rules, str) else rules
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise LintrcError(f"{APPEND_RULES} must be a list of rule folders or modules, not {rules!r}")
    if RULES_MODULE not in rules:
        rules = [*rules, RULES_MODULE]
    result[APPEND_RULES] = rules
    if _is_ours(result.get(OVERRIDE_SPEC)):
        # A path into one machine's install, written by older releases: the rules need it no more.
        del result[OVERRIDE_SPEC]
    if macro_name is not None:
        result[CONFIGURE_RULES] = _with_macro_name(result.get(CONFIGURE_RULES), macro_name)
    return result


def _with_macro_name(configured: object, macro_name: str) -> dict[str, Any]:
    """configure_rules with macro_name set for every ProfileExpand rule; other rules and settings kept."""
    # The rules load cfn-lint; only this path of the command needs them.
    from profile_expand.lint.rules import MACRO_NAME_SETTING, RULES

    if configured is None:
        configured = {}
    if not isinstance(configured, Mapping):
        raise LintrcError(f"{CONFIGURE_RULES} must map rule IDs to settings, not {configured!r}")
    result = dict(configured)
    for rule in RULES:
        settings = result.get(rule.id) or {}
        if not isinstance(settings, Mapping):
            raise LintrcError(f"{CONFIGURE_RULES}.{rule.id} must be a mapping of settings, not {settings!r}")
        result[rule.id] = {**settings, MACRO_NAME_SETTING: macro_name}
    return result


def _is_ours(value: object) -> bool:
    return isinstance(value, str) and Path(value).parts[-len(_OURS) :] == _OURS


def read(path: Path) -> dict[str, Any] | None:
    """The configuration in `path`, or None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LintrcError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise LintrcError(f"{path} is not YAML (cfn-lint reads it as YAML): {error}") from error
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise LintrcError(f"{path} holds a {type(loaded).__name__}; cfn-lint expects a mapping of settings")
    return loaded


def register(commands: Any) -> None:
    """Add the `cfnlintrc` subcommand to the CLI's subparsers."""
    parser = commands.add_parser(
        "cfnlintrc",
        help="write or merge the .cfnlintrc that lets cfn-lint and `sam validate --lint` accept IamRole",
        description=__doc__,
    )
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=DEFAULT_FILE,
        metavar=words.FILE,
        help="the .cfnlintrc to write or merge (default: ./.cfnlintrc)",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if FILE needs changes")
    parser.add_argument(
        "--macro-name",
        metavar="NAME",
        help=f"{words.MACRO_NAME_HELP}, set for every rule in {CONFIGURE_RULES}",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 written or already right, 1 it needs a change (--check) or cannot be merged, 2 unreadable."""
    path: Path = args.file
    try:
        existing = read(path)
    except LintrcError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    try:
        merged = merge(existing, args.macro_name)
    except LintrcError as error:
        print(f"{PROG}: error: {path}: {error}", file=sys.stderr)
        return 1
    if merged == existing:
        print(f"{path}: already set up for ProfileExpand")
        return 0
    if args.check:
        print(f"{path}: needs {APPEND_RULES} {RULES_MODULE} (and no {OVERRIDE_SPEC} path into an install)")
        return 1
    text = path.read_text(encoding="utf-8") if existing is not None else ""
    if "#" in text:
        print(
            f"{PROG}: note: {path} is rewritten from its settings; its comments are not kept", file=sys.stderr
        )
    try:
        files.write_atomic(path, yaml.safe_dump(merged, sort_keys=False, default_flow_style=False))
    except OSError as error:
        print(f"{PROG}: error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"{path}: {'updated' if existing is not None else 'written'} ({APPEND_RULES}: {RULES_MODULE})")
    return 0
