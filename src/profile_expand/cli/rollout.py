"""`profile-expand rollout`: the macro (or, with --guard, the guard) in many regions and accounts, through
one StackSet: self-managed (--accounts), or service-managed (--organizational-units, deployed to every
account of those OUs, new ones included).

The `sam build` output is packaged once, copied to one bucket per region (`<prefix>-<region>`, since
Lambda reads code only from its own region), and the stack set deploys that template, translated to
plain CloudFormation, with each function's code taken from `<prefix>-${AWS::Region}`. A region where a
resource type of the template does not exist (cfn-lint's region data) is refused before anything is done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from profile_expand.cli import files, words
from profile_expand.cli.rollout_plan import (
    CALL_AS,
    DEFAULT_BUILT_TEMPLATE,
    DEFAULT_GUARD_BUILT_TEMPLATE,
    DEFAULT_GUARD_STACK_SET,
    DEFAULT_STACK_SET,
    DELEGATED_ADMIN,
    RolloutError,
    describe,
    make_plan,
)
from profile_expand.cli.stacksets import apply
from profile_expand.cli.yaml_io import dump_json
from profile_expand.core.errors import missing_extra

PROG: Final = "profile-expand rollout"


def register(commands: Any) -> None:
    """Add the `rollout` subcommand to the CLI's subparsers."""
    parser = commands.add_parser(
        "rollout",
        help="deploy the macro (or the guard) to many regions and accounts with a CloudFormation StackSet",
        description=__doc__,
    )
    parser.add_argument(
        "--regions", required=True, type=_comma_list, metavar="REGIONS", help="comma-separated target regions"
    )
    targets = parser.add_mutually_exclusive_group(required=True)
    targets.add_argument(
        "--accounts",
        type=_comma_list,
        default=[],
        metavar="ACCOUNTS",
        help="comma-separated 12-digit account IDs (self-managed)",
    )
    targets.add_argument(
        "--organizational-units",
        type=_comma_list,
        default=[],
        metavar="OUS",
        help="comma-separated OU IDs (service-managed: every account of them, new ones included)",
    )
    parser.add_argument(
        "--guard",
        action="store_true",
        help=f"deploy the guard (guard.yaml built to {DEFAULT_GUARD_BUILT_TEMPLATE}) rather than the macro",
    )
    parser.add_argument(
        "--bucket-prefix", required=True, metavar="PREFIX", help="code buckets are <PREFIX>-<region>"
    )
    parser.add_argument(
        "--stack-set-name",
        metavar="NAME",
        help=f"the stack set's name (default: {DEFAULT_STACK_SET}; {DEFAULT_GUARD_STACK_SET} with --guard)",
    )
    parser.add_argument(
        "--admin-region", metavar="REGION", help="where the stack set lives (default: the first of --regions)"
    )
    parser.add_argument(
        "--built-template",
        type=Path,
        metavar=words.TEMPLATE,
        help=f"the template `sam build` wrote (default: {DEFAULT_BUILT_TEMPLATE}; {DEFAULT_GUARD_BUILT_TEMPLATE} with --guard)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stack set parameter (repeatable)",
    )
    parser.add_argument(
        "--call-as",
        choices=CALL_AS,
        help=f"StackSets' CallAs on every call: {DELEGATED_ADMIN} from a delegated administrator account of "
        "the organization, with --organizational-units (default: none sent, which AWS takes as SELF)",
    )
    parser.add_argument(
        "--administration-role-arn",
        metavar="ARN",
        help="the IAM role StackSets assumes in the administering account, self-managed only "
        "(default: AWSCloudFormationStackSetAdministrationRole)",
    )
    parser.add_argument(
        "--execution-role-name",
        metavar="NAME",
        help="the IAM role StackSets assumes in each target account, self-managed only "
        "(default: AWSCloudFormationStackSetExecutionRole)",
    )
    parser.add_argument(
        "--template-out",
        type=Path,
        metavar=words.FILE,
        help="also write the stack set's template here (JSON)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; call no AWS API")
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="the AWS CLI named profile whose credentials to use (an AWS CLI profile, not an instance profile)",
    )
    parser.set_defaults(run=run)


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    """The subcommand: 0 done, 1 the rollout failed, 2 nothing was done (bad options or input)."""
    try:
        parameters = dict(_key_value(item) for item in args.parameter)
        guard = bool(getattr(args, "guard", False))
        built = args.built_template or (DEFAULT_GUARD_BUILT_TEMPLATE if guard else DEFAULT_BUILT_TEMPLATE)
        plan = make_plan(
            built,
            regions=args.regions,
            accounts=args.accounts,
            bucket_prefix=args.bucket_prefix,
            admin_region=args.admin_region,
            stack_set_name=args.stack_set_name or (DEFAULT_GUARD_STACK_SET if guard else DEFAULT_STACK_SET),
            parameters=parameters,
            administration_role_arn=args.administration_role_arn,
            execution_role_name=args.execution_role_name,
            organizational_units=args.organizational_units,
            call_as=args.call_as,
        )
    except RolloutError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.template_out:
        try:
            files.write_atomic(args.template_out, dump_json(plan.template))
        except OSError as error:
            print(
                f"{PROG}: error: cannot write {args.template_out}: {error.strerror or error}", file=sys.stderr
            )
            return 2
    print(describe(plan))
    if args.dry_run:
        print("Dry run: nothing was created or changed.")
        return 0
    try:
        import boto3
    except ImportError as error:
        print(f"{PROG}: error: calling AWS needs {missing_extra(error, 'rollout')}", file=sys.stderr)
        return 2
    try:
        results = apply(plan, boto3.session.Session(profile_name=args.profile))
    except RolloutError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    failed = [r for r in results if not r.status.startswith("CURRENT")]
    for result in results:
        print(f"{result.account} {result.region} {result.status} {result.reason}".rstrip())
    return 1 if failed else 0


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise RolloutError(f"--parameter {item!r}: write KEY=VALUE")
    return key, value
