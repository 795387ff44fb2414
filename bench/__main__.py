"""`make bench` (`python -m bench`): measure, print and write bench/results.md (docs/benchmarks.md is made from it).

Exits 1 with --check when a target is missed, decided from the numbers (bench/targets.py).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import adversarial, coldstart, guard_inprocess, guard_runtime, inprocess, lint, runtime, terraform
from bench.generators import (
    MAX_RESOURCES,
    MAX_TEMPLATE_BYTES,
    SIZES,
    check_expansion,
    compact_size,
    generate_sized_template,
    generate_template,
)
from bench.report import machine, report
from bench.settings import ADVERSARIAL_RATIO_TARGET, RESULTS
from bench.targets import (
    LINT_RATIO_TARGET,
    cold_start_targets,
    expansion_targets,
    lambda_runtime_targets,
    lint_targets,
    memory_targets,
    terraform_targets,
)
from profile_expand import expand


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds per size")
    parser.add_argument("--seconds", type=float, default=0.1, help="target seconds per timing")
    parser.add_argument("--import-runs", type=int, default=25, help="fresh interpreters per import subject")
    parser.add_argument(
        "--containers", type=int, default=11, help="fresh containers per handler (Lambda runtime)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the Markdown")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--skip-cold-start", action="store_true", help="skip the import-time sections")
    parser.add_argument(
        "--skip-lambda-runtime", action="store_true", help="skip the runs in the Lambda image"
    )
    parser.add_argument("--skip-lint", action="store_true", help="skip lint against plain cfn-lint")
    parser.add_argument("--lint-rounds", type=int, default=2, help="alternating rounds of each lint row")
    parser.add_argument(
        "--sam-inputs",
        type=Path,
        default=os.environ.get("PROFILE_EXPAND_SAM_INPUTS") or None,
        help="aws/serverless-application-model's tests/translator/input, for a lint row (not in this "
        "repository; default $PROFILE_EXPAND_SAM_INPUTS)",
    )
    parser.add_argument("--skip-terraform", action="store_true", help="skip the Terraform lint row")
    parser.add_argument("--terraform-modules", type=int, default=12, help="corpus modules in that row")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    host = machine()

    cases = [(f"{size} resources", generate_template(size), size) for size in SIZES]
    large = generate_sized_template(MAX_TEMPLATE_BYTES, MAX_RESOURCES)
    cases.append((f"~1 MB ({compact_size(expand(large)) / 2**20:.2f} MiB out)", large, MAX_RESOURCES))
    timings = []
    for label, fragment, size in cases:
        check_expansion(fragment, size)
        snapshot = copy.deepcopy(fragment)
        timings.append(inprocess.time_expansion(label, fragment, args.rounds, args.seconds))
        if fragment != snapshot:
            raise SystemExit("bench: expand() modified its input")
    for name, shape in adversarial.SHAPES.items():
        fragment = adversarial.at_limit(shape)
        label = f"adversarial: {name}, ~1 MB{adversarial.answer(fragment)}"
        timings.append(
            inprocess.time_expansion(label, fragment, args.rounds, args.seconds, ADVERSARIAL_RATIO_TARGET)
        )
    cold = None
    python_runtime: coldstart.RuntimeColdStart | str | None = None
    if not args.skip_cold_start:
        cold = coldstart.measure_cold_start(args.import_runs)
        python_runtime = coldstart.measure_runtime_cold_start(args.import_runs)
        if isinstance(python_runtime, str):
            print(f"bench: cold start on the runtime's Python skipped: {python_runtime}", file=sys.stderr)
    lambda_run: runtime.RuntimeRun | str | None = None
    if not args.skip_lambda_runtime:
        lambda_run = runtime.measure(args.containers)
        if isinstance(lambda_run, str):
            print(f"bench: runs on the Lambda runtime skipped: {lambda_run}", file=sys.stderr)
    guard_run: guard_runtime.GuardRun | str | None = None
    if not args.skip_lambda_runtime:
        guard_run = guard_runtime.measure(max(5, args.containers // 2))
        if isinstance(guard_run, str):
            print(f"bench: the guard's runs on the Lambda runtime skipped: {guard_run}", file=sys.stderr)
    guard_rows = guard_inprocess.measure()
    memory = inprocess.measure_memory(large)
    lint_rows = None if args.skip_lint else lint.measure(args.lint_rounds, args.sam_inputs)
    terraform_run = (
        None if args.skip_terraform else terraform.measure(args.lint_rounds, args.terraform_modules)
    )
    targets = [
        *terraform_targets(terraform_run if not isinstance(terraform_run, str) else None),
        *expansion_targets(timings),
        *cold_start_targets(cold, python_runtime if not isinstance(python_runtime, str) else None),
        *memory_targets(memory),
        *lambda_runtime_targets(lambda_run if not isinstance(lambda_run, str) else None),
        *guard_runtime.targets(guard_run if not isinstance(guard_run, str) else None),
        *guard_inprocess.targets(guard_rows),
        *lint_targets(lint_rows or []),
    ]
    lint_lines = (
        None if lint_rows is None else lint.lint_section(lint_rows, args.lint_rounds, LINT_RATIO_TARGET)
    )
    text = report(
        timings, cold, memory, args.rounds, started, host, python_runtime, lambda_run, targets, lint_lines
    )
    text += guard_runtime.section(guard_run)
    text += guard_inprocess.section(guard_rows)
    text += terraform.section(terraform_run, args.lint_rounds)
    print(text, end="")
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"(written to {args.output})")
    missed = [target for target in targets if not target.met]
    for target in missed:
        print(f"bench: target missed: {target.name}: {target.value:.3g} {target.unit}", file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
