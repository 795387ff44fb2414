"""`sam local invoke` of the macro or the guard on one event of yours (`make invoke-macro EVENT=...`,
`make invoke-guard EVENT=...`): prints the function's answer on standard output, SAM's REPORT line on
standard error, and exits 0 when the invocation ran (whatever the answer says), 1 when it did not.

It builds what `make local-invoke` builds (the Lambda image, `sam build`, the built template for this
machine's architecture); the guard's IAM is a moto server on the Docker bridge seeded with the fixture
account of bench/guard_local.py (or empty with --empty-iam), its credentials fake ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import guard_local, sam_local


def _show(invocation: sam_local.Invocation) -> int:
    print(json.dumps(invocation.response, indent=2, ensure_ascii=False))
    print(invocation.report.line or "no REPORT line", file=sys.stderr)
    for problem in invocation.problems:
        print(f"invoke: {problem}", file=sys.stderr)
    return 1 if invocation.problems else 0


def invoke_macro(event: Path) -> int:
    print(f"invoke: {sam_local.ensure_base_image()}", file=sys.stderr)
    variant = sam_local.host_variant(sam_local.sam_build())
    print(f"invoke: {variant.relative_to(sam_local.ROOT)}", file=sys.stderr)
    return _show(sam_local.invoke(variant, event))


def invoke_guard(event: Path, seed: bool) -> int:
    print(f"invoke: {sam_local.ensure_base_image()}", file=sys.stderr)
    built = guard_local.build_local()
    os.environ.update(guard_local.FAKE_CREDENTIALS)
    with guard_local.iam_server(guard_local.bridge_address(), seed=seed) as server:
        variant = guard_local.local_variant(built, server.endpoint)
        print(
            f"invoke: {variant.relative_to(sam_local.ROOT)}, IAM at {server.endpoint} (moto)", file=sys.stderr
        )
        return _show(guard_local.invoke(variant, event))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=("macro", "guard"))
    parser.add_argument("event", type=Path, help="a macro event (profile-expand event) or a hook event")
    parser.add_argument("--empty-iam", action="store_true", help="guard: an IAM with no role or profile")
    args = parser.parse_args(argv)
    event = args.event.resolve()
    if not event.is_file():
        print(f"invoke: no event file {args.event}", file=sys.stderr)
        return 2
    why = sam_local.docker_unavailable()
    if why:
        print(f"invoke: cannot run: {why}", file=sys.stderr)
        return 2
    if args.function == "macro":
        return invoke_macro(event)
    return invoke_guard(event, seed=not args.empty_iam)


if __name__ == "__main__":
    sys.exit(main())
