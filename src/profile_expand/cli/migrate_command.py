"""`profile-expand migrate`: replace hand-written instance profiles by IamRole, changing nothing deployed.

Exit codes: 0 done (or, with --check, nothing to convert); 1 with --check when instance profiles would be
converted, or when the migrated template fails migrate's own check (it would not expand to the original, or a comment
is missing: a bug, and nothing is written); 2 usage or
unreadable input.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any, Final

from profile_expand.cli import files, words
from profile_expand.cli.migrate import Conversion, Plan
from profile_expand.cli.migrate_nodes import LocatedMigrateError, MigrateError
from profile_expand.cli.migrate_source import migrate_text
from profile_expand.core.errors import InvalidTemplateError, TemplateSyntaxError
from profile_expand.core.profile_options import FORM_KEY
from profile_expand.core.roles import PROFILE_KEY, READINESS_KEY, ROLE_KEY

EXIT_OK: Final = 0
EXIT_CHANGES: Final = 1
EXIT_USAGE: Final = 2
STDIN: Final = files.STDIN


def register(commands: Any) -> None:
    """Add the `migrate` subcommand to the CLI's subparsers."""
    migrate = commands.add_parser(
        "migrate",
        help="turn hand-written AWS::IAM::InstanceProfile resources into IamRole, with zero change deployed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument("template", metavar=words.TEMPLATE, help=words.TEMPLATE_HELP)
    migrate.add_argument("-o", "--output", metavar=words.FILE, help=f"{words.OUTPUT_HELP} (may be TEMPLATE)")
    migrate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print what would change and exit 1 if any instance profile would be converted",
    )
    migrate.add_argument(
        "--keep-references",
        action="store_true",
        help="also convert an instance profile that Outputs, a nested stack or another property names, keeping its "
        "logical ID (the source then names a resource only the expansion defines: lint it with "
        "profile-expand lint, not plain cfn-lint)",
    )
    migrate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    name = files.display_name(args.template)
    try:
        # CRLF files stay CRLF: the text is written back with the author's own line ends.
        text = files.read_template(args.template, keep_newlines=True)
    except files.UnreadableInputError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    try:
        migration = migrate_text(
            text, None if args.template == STDIN else args.template, keep_references=args.keep_references
        )
    except TemplateSyntaxError as error:
        print(f"{name}:{error.line}:{error.column}: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except MigrateError as error:
        where = f"{name}:{error.line}:{error.column}" if isinstance(error, LocatedMigrateError) else name
        print(f"{where}: cannot edit this file: {error}; nothing written", file=sys.stderr)
        return EXIT_CHANGES
    except InvalidTemplateError as error:
        # The macro rejects the template (or a conversion of it): migrate converts nothing it cannot prove.
        for problem in error.errors:
            print(f"{name}: {problem}", file=sys.stderr)
        print(f"{name}: nothing written", file=sys.stderr)
        return EXIT_CHANGES
    report = sys.stdout if args.check else sys.stderr
    for line in describe(migration.plan):
        print(f"{name}: {line}", file=report)
    if migration.mismatches:
        for mismatch in migration.mismatches:
            print(f"{name}: the migrated template fails migrate's own check: {mismatch}", file=sys.stderr)
        print(
            f"{name}: nothing written (this is a bug in profile-expand migrate; please report it).",
            file=sys.stderr,
        )
        return EXIT_CHANGES
    if args.check:
        diff = difflib.unified_diff(
            text.splitlines(keepends=True),
            migration.text.splitlines(keepends=True),
            name,
            f"{name} (migrated)",
        )
        files.write_stdout("".join(diff))
        return EXIT_CHANGES if migration.plan.conversions else EXIT_OK
    if not args.output or args.output == STDIN:
        files.write_stdout(migration.text)
        return EXIT_OK
    # In place (-o TEMPLATE) is safe: the file is replaced whole, or left as it was.
    try:
        files.write_atomic(args.output, migration.text)
    except OSError as error:
        print(f"{name}: error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def describe(the_plan: Plan) -> list[str]:
    """One line per converted profile and per kept profile (with every reason), then a count."""
    lines = [_converted(conversion) for conversion in the_plan.conversions]
    for kept in the_plan.kept:
        lines.append(f"kept {kept.profile}: {'; '.join(reason.text for reason in kept.reasons)}")
    if the_plan.adds_transform:
        lines.append("added ProfileExpand to the template's Transform")
    lines.append(f"{len(the_plan.conversions)} profile(s) converted, {len(the_plan.kept)} kept")
    return lines


def _converted(conversion: Conversion) -> str:
    places = []
    for position, slot in enumerate(conversion.slots):
        form = conversion.value(position)
        named = form.get(PROFILE_KEY, {}).get(FORM_KEY) if isinstance(form, dict) else None
        places.append(f"{slot.where} (Form {named})" if named else slot.where)
    value = conversion.iam_role
    options: list[str] = []
    if isinstance(value, dict) and ROLE_KEY in value:
        options += [f"{key} {_text(option)}" for key, option in (value.get(PROFILE_KEY) or {}).items()]
        if value.get(READINESS_KEY) is False:
            options.append(f"{READINESS_KEY} false")
    detail = f" ({', '.join(options)})" if options else ""
    if conversion.dropped:
        detail += f"; removed from the DependsOn of {', '.join(conversion.dropped)}, which names it anyway"
    return f"converted {conversion.profile}: IamRole at {', '.join(places)}{detail}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
