"""The benchmark's targets, decided from the measured numbers (the report only shows them)."""

from __future__ import annotations

import statistics
from typing import NamedTuple

from bench.coldstart import (
    HANDLER_CACHED,
    POWERTOOLS_AS_HANDLER,
    RUNTIME_HANDLER_BYTECODE,
    RUNTIME_POWERTOOLS,
    ColdStart,
    RuntimeColdStart,
)
from bench.inprocess import Memory, Timing
from bench.lint import LintTiming
from bench.runtime import RuntimeRun, init_cpu_ms
from bench.settings import IMPORT_BUDGET_MS, MEMORY_SHARE
from bench.terraform import TERRAFORM_RATIO_TARGET, TerraformTiming


class Target(NamedTuple):
    """A measured value against its limit: met when value <= limit (value < limit when strict)."""

    name: str
    value: float
    limit: float
    unit: str
    strict: bool = False

    @property
    def met(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit


def expansion_targets(timings: list[Timing]) -> list[Target]:
    return [
        Target(f"expand / JSON round trip, {t.label}", t.ratio, t.target, "x")
        for t in timings
        if t.target is not None
    ]


# Issue 16: `profile-expand lint` at most this many times plain cfn-lint's CPU time, both ways.
LINT_RATIO_TARGET = 1.05


def lint_targets(rows: list[LintTiming]) -> list[Target]:
    return [
        Target(
            f"lint / plain cfn-lint, {row.label} ({row.templates}), {row.mode}",
            row.ratio,
            LINT_RATIO_TARGET,
            "x",
        )
        for row in rows
    ]


def terraform_targets(run: TerraformTiming | None) -> list[Target]:
    if run is None:
        return []
    name = f"Terraform lint / python-hcl2 parse, median of {run.modules} corpus modules"
    return [Target(name, run.ratio, TERRAFORM_RATIO_TARGET, "x")]


def cold_start_targets(cold: ColdStart | None, runtime: RuntimeColdStart | None) -> list[Target]:
    median = statistics.median
    found = []
    if cold is not None:
        extra = median(cold.cpu_ms[HANDLER_CACHED]) - median(cold.cpu_ms[POWERTOOLS_AS_HANDLER])
        found.append(
            Target("handler import beyond Powertools (this Python, CPU)", extra, IMPORT_BUDGET_MS, "ms")
        )
    if runtime is not None:
        extra = median(runtime.cpu_ms[RUNTIME_HANDLER_BYTECODE]) - median(runtime.cpu_ms[RUNTIME_POWERTOOLS])
        found.append(
            Target(
                "handler import beyond Powertools (runtime's Python, bundle, CPU)",
                extra,
                IMPORT_BUDGET_MS,
                "ms",
            )
        )
    return found


def memory_targets(memory: Memory | None) -> list[Target]:
    if memory is None:
        return []
    limit = memory.memory_size_mb * MEMORY_SHARE
    return [
        Target(
            "peak RSS, ~1 MB template, this Python", memory.rss_stages_mb["after dump"][1], limit, "MB", True
        )
    ]


def lambda_runtime_targets(run: RuntimeRun | None) -> list[Target]:
    if run is None:
        return []
    median = statistics.median
    # CPU time: wall time on a shared 2-core machine grows with everyone else's load (docs/benchmarks.md).
    macro = median(init_cpu_ms(c) for c in run.macro)
    baseline = median(init_cpu_ms(c) for c in run.baseline)
    limit = run.memory_size_mb * MEMORY_SHARE
    return [
        Target(
            "Lambda runtime: init of the macro minus Powertools only (CPU)",
            macro - baseline,
            IMPORT_BUDGET_MS,
            "ms",
        ),
        Target(
            "Lambda runtime: container peak memory, ~1 MB event",
            max(c.container_peak_mb for c in run.large),
            limit,
            "MB",
            True,
        ),
    ]
