"""`profile-expand`: preview the macro's output, lint the result, write a macro event for `sam local invoke`.

Exit codes: 0 ok, 1 template errors (the macro's own words), 2 usage, unreadable input or unwritable output;
`lint` exits as cfn-lint does; 3 an internal error (a bug: one line, never a traceback).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import profile_expand
from profile_expand.cli import files, lintrc, rollout, words
from profile_expand.cli import lint_command as cli_lint
from profile_expand.cli import migrate_command as cli_migrate
from profile_expand.cli.yaml_io import Format, decode, dump, locate, position_of
from profile_expand.core import cfn
from profile_expand.core.cfn import to_plain
from profile_expand.core.errors import (
    ERROR,
    ChainError,
    CommandExit,
    InvalidTemplateError,
    TemplateSyntaxError,
)
from profile_expand.core.pipeline import Expansion, analyse, expand_with_report, uses_shorthand
from profile_expand.lint.chain import DEFAULT_REGION, Chain, apply_chain, transform_names, without_transform

PROG: Final = "profile-expand"
STDIN: Final = files.STDIN
STDIN_NAME: Final = files.STDIN_NAME
EXIT_OK: Final = 0
EXIT_TEMPLATE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
# Set to see the traceback of an internal error.
DEBUG_VARIABLE: Final = "PROFILE_EXPAND_DEBUG"
_OUTPUT_ERRORS: Final = frozenset({errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EFBIG, errno.EIO, 0})
EVENT_ACCOUNT_ID: Final = "123456789012"


@dataclass
class _Loaded:
    """A template read, decoded and run through the transforms before ProfileExpand."""

    name: str
    text: str
    format: Format
    source: Any  # cfn-lint nodes, with positions
    chain: Chain
    macro_name: str  # the name ProfileExpand is deployed under, as the template's Transform lists it


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code instead of exiting (the console script exits with it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["lint"]:
        # cfn-lint's own options, in any order around the templates: argparse here would reject them.
        return cli_lint.run(arguments[1:])
    parser = _parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as stop:  # argparse: --help (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        code: int = args.run(args)
        if sys.stdout is not None:
            sys.stdout.flush()
    except CommandExit as stop:
        return stop.code
    except OSError as error:
        if error.errno not in _OUTPUT_ERRORS:
            return _internal_error(error)
        # Standard output closed, full or a broken pipe: what was printed may be cut short.
        files.silence_stdout()
        print(f"{PROG}: error: cannot write standard output: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except RecursionError:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(f"{PROG}: error: the template is nested too deeply to process", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        return _internal_error(error)
    return code


def _internal_error(error: BaseException) -> int:
    """A bug: one line for the user, the traceback only on request."""
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    said = " ".join(str(error).split())  # one line, whatever the exception's text
    print(
        f"{PROG}: internal error: {type(error).__name__}: {said} (a bug in profile-expand; please report "
        f"it; {DEBUG_VARIABLE}=1 shows the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {profile_expand.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    expand = commands.add_parser("expand", help="print the template the macro returns")
    expand.add_argument("template", metavar=words.TEMPLATE, help=words.TEMPLATE_HELP)
    expand.add_argument("-o", "--output", metavar=words.FILE, help=words.OUTPUT_HELP)
    expand.add_argument(
        "--format",
        choices=[f.value for f in Format],
        help="output format (default: the input's format)",
    )
    expand.add_argument(
        "--no-transform",
        action="store_true",
        help="leave ProfileExpand out of the output's Transform: a template to deploy where macros cannot "
        "run (service-managed StackSets, Service Catalog)",
    )
    _add_macro_name(expand)
    expand.set_defaults(run=_run_expand)

    cli_lint.register(commands)

    event = commands.add_parser("event", help="write a macro event for `sam local invoke -e FILE`")
    event.add_argument("template", metavar=words.TEMPLATE, help=words.TEMPLATE_HELP)
    event.add_argument("-o", "--output", metavar=words.FILE, help=words.OUTPUT_HELP)
    event.add_argument(
        "--account-id", default=EVENT_ACCOUNT_ID, help=f"the event's account ID (default: {EVENT_ACCOUNT_ID})"
    )
    event.add_argument(
        "--region", default=DEFAULT_REGION, help=f"the event's region (default: {DEFAULT_REGION})"
    )
    event.add_argument(
        "--request-id",
        help="the event's request ID (default: derived from the template, the same on every run)",
    )
    event.add_argument("--transform-id", help="the event's transform ID (default: ACCOUNT_ID::MACRO_NAME)")
    _add_macro_name(event)
    event.set_defaults(run=_run_event)
    # Subcommands kept in their own modules; each registers its parser and its run(args) -> int.
    rollout.register(commands)
    lintrc.register(commands)
    cli_migrate.register(commands)
    return parser


def _add_macro_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--macro-name",
        default=cfn.TRANSFORM_NAME,
        metavar="NAME",
        help=words.MACRO_NAME_HELP,
    )


# -- expand ------------------------------------------------------------------------------------------


def _run_expand(args: argparse.Namespace) -> int:
    loaded = _load(args.template, macro_name=args.macro_name)
    output_format = Format(args.format) if args.format else loaded.format
    # A file without Resources is a snippet: the macro's own error says how it can be used.
    if not loaded.chain.has_profile_expand and _has_resources(loaded.chain.template):
        return _without_macro(loaded, args.output, output_format, args.template)
    _report_chain(loaded)
    expansion = _expand(loaded)
    # --no-transform: a template to deploy where macros cannot run; other transforms stay for CloudFormation.
    template = (
        without_transform(expansion.template, args.macro_name) if args.no_transform else expansion.template
    )
    _write(args.output, dump(template, output_format), source=args.template)
    return EXIT_OK


def _without_macro(loaded: _Loaded, output: str | None, output_format: Format, source: str) -> int:
    """The Transform does not list the macro: nothing is expanded or corrected; the findings say what fails.

    The template is written as CloudFormation will receive it; 1 when it cannot deploy as written.
    """
    template = to_plain(loaded.chain.template)
    model = analyse(template, transform_declared=False, macro_name=loaded.macro_name)
    # IamRole left as written fails the deploy (W9001), as does any error the rules find.
    fails = uses_shorthand(template) or any(finding.severity == ERROR for finding in model.findings)
    if model.findings or fails:
        names = transform_names(loaded.source)
        declared = f"Transform lists {', '.join(names)} but not" if names else "no Transform:"
        print(
            f"{PROG}: warning: {loaded.name} has {declared} {loaded.macro_name}: CloudFormation deploys it as "
            "written, nothing expanded or corrected",
            file=sys.stderr,
        )
    for finding in model.findings:
        position = _error_position(loaded, finding.logical_id, finding.path)
        _say(loaded, position, f"{finding.severity}: {finding.code} {finding.lint_text()}")
    _write(output, dump(template, output_format), source=source)
    return EXIT_TEMPLATE if fails else EXIT_OK


def _has_resources(template: Any) -> bool:
    return isinstance(template, Mapping) and cfn.RESOURCES in template


def _expand(loaded: _Loaded) -> Expansion:
    """The core's expansion of the chained template; errors and warnings printed at source positions."""
    try:
        expansion = expand_with_report(to_plain(loaded.chain.template))
    except InvalidTemplateError as error:
        for problem in error.errors:
            _say(loaded, _error_position(loaded, problem.logical_id, problem.path), str(problem))
        raise CommandExit(EXIT_TEMPLATE) from error
    for warning in expansion.warnings:
        position = _error_position(loaded, warning.logical_id, warning.path)
        _say(loaded, position, f"warning: {warning}")
    return expansion


def _error_position(loaded: _Loaded, logical_id: str, path: tuple[str | int, ...]) -> tuple[int, int]:
    full_path = (cfn.RESOURCES, logical_id, *path) if logical_id else path
    # cfn-lint's JSON decoder marks a value's mapping from after its brace, maybe a line below: use the key.
    return locate(loaded.chain.template, full_path, at_key=loaded.format is Format.JSON).position


# -- event -------------------------------------------------------------------------------------------


def _run_event(args: argparse.Namespace) -> int:
    loaded = _load(args.template, region=args.region, macro_name=args.macro_name)
    _report_chain(loaded)
    fragment = to_plain(loaded.chain.template)
    digest = hashlib.sha256(json.dumps(fragment, sort_keys=True).encode("utf-8")).hexdigest()
    event = {
        "accountId": args.account_id,
        "fragment": fragment,
        "transformId": args.transform_id or f"{args.account_id}::{args.macro_name}",
        # A UUID like CloudFormation's, but derived from the fragment so the file is reproducible.
        "requestId": args.request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PROG}:{digest}")),
        "region": args.region,
        "params": {},
        "templateParameterValues": _parameter_defaults(fragment),
    }
    _write(args.output, json.dumps(event, indent=2) + "\n", source=args.template)
    return EXIT_OK


def _parameter_defaults(template: Any) -> dict[str, Any]:
    """Parameter values as CloudFormation passes them to a macro, from each parameter's Default."""
    parameters = template.get(cfn.PARAMETERS) if isinstance(template, Mapping) else None
    values: dict[str, Any] = {}
    for name, parameter in parameters.items() if isinstance(parameters, Mapping) else ():
        if not isinstance(parameter, Mapping) or "Default" not in parameter:
            continue
        default = parameter["Default"]
        kind = str(parameter.get(cfn.TYPE, "String"))
        text = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            values[name] = [item.strip() for item in text.split(",")] if text else []
        else:
            values[name] = text
    return values


# -- shared ------------------------------------------------------------------------------------------


def _load(template: str, region: str = DEFAULT_REGION, macro_name: str = cfn.TRANSFORM_NAME) -> _Loaded:
    name = files.display_name(template)
    try:
        text = files.read_template(template)
    except files.UnreadableInputError as error:
        print(error, file=sys.stderr)
        raise CommandExit(EXIT_USAGE) from error
    _check_size(name, text)
    try:
        decoded = decode(text, name)
    except TemplateSyntaxError as error:
        print(f"{name}:{error.line}:{error.column}: syntax error: {error.message}", file=sys.stderr)
        raise CommandExit(EXIT_USAGE) from error
    try:
        chain = apply_chain(decoded.nodes, region, macro_name)
    except ChainError as error:
        for problem in error.problems:
            position = problem.position or position_of(decoded.nodes, problem.path)
            print(
                f"{name}:{position[0]}:{position[1]}: {error.transform}: {problem.message}", file=sys.stderr
            )
        raise CommandExit(EXIT_TEMPLATE) from error
    return _Loaded(name, text, decoded.format, decoded.nodes, chain, macro_name)


def _check_size(name: str, text: str) -> None:
    """CloudFormation's size limit, before any pass reads the template: no larger template deploys."""
    # One UTF-8 byte per character at least: a short text needs no encoding to pass.
    if len(text) <= cfn.MAX_TEMPLATE_BYTES // 4:
        return
    size = len(text.encode("utf-8"))
    if size > cfn.MAX_TEMPLATE_BYTES:
        print(
            f"{name}: error: the template is {size:,} bytes, over CloudFormation's limit of "
            f"{cfn.MAX_TEMPLATE_BYTES:,} (1 MB, from S3): move resources into nested stacks",
            file=sys.stderr,
        )
        raise CommandExit(EXIT_TEMPLATE)


def _report_chain(loaded: _Loaded) -> None:
    """Say which transforms the preview applied and which CloudFormation will still run."""
    chain = loaded.chain
    names = transform_names(loaded.source)
    macro = loaded.macro_name
    if not chain.has_profile_expand:
        # Only a template that uses the shorthand needs the macro: ordinary templates lint in silence.
        if uses_shorthand(to_plain(chain.template)):
            declared = f"Transform lists {', '.join(names)} but not" if names else "no Transform:"
            print(
                f"{PROG}: warning: {loaded.name} has {declared} {macro}; "
                "CloudFormation will not expand IamRole in this template",
                file=sys.stderr,
            )
        return
    if names == [macro]:
        return
    line = f"{PROG}: applied {', '.join([*chain.applied, macro])}"
    if chain.skipped:
        line += f"; not applied (no local implementation): {', '.join(chain.skipped)}"
    if chain.left:
        line += f"; left for CloudFormation: {', '.join(chain.left)}"
    print(line, file=sys.stderr)
    for note in chain.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)


def _say(loaded: _Loaded, position: tuple[int, int], message: str) -> None:
    print(f"{loaded.name}:{position[0]}:{position[1]}: {message}", file=sys.stderr)


def _write(output: str | None, text: str, source: str | None = None) -> None:
    """Write to standard output, or replace the file `output` whole; never over the `source` it came from."""
    if output is None or output == STDIN:
        files.write_stdout(text)
        return
    if source is not None and files.same_file(output, source):
        print(
            f"{PROG}: error: {output} is the input {source}: write the output to another file "
            "(an expansion over its source would lose the author's file)",
            file=sys.stderr,
        )
        raise CommandExit(EXIT_USAGE)
    try:
        files.write_atomic(output, text)
    except OSError as error:
        print(f"{PROG}: error: cannot write {output}: {error.strerror or error}", file=sys.stderr)
        raise CommandExit(EXIT_USAGE) from error


if __name__ == "__main__":
    sys.exit(main())
