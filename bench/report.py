"""The benchmark's Markdown (bench/results.md, which scripts/generate_docs.py copies into docs/benchmarks.md)."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

from bench.coldstart import (
    BUILD_TARGET,
    HANDLER_CACHED,
    HANDLER_SOURCE_ONLY,
    POWERTOOLS,
    POWERTOOLS_AS_HANDLER,
    RUNTIME_HANDLER_BYTECODE,
    RUNTIME_HANDLER_SOURCE,
    RUNTIME_POWERTOOLS,
    ColdStart,
    RuntimeColdStart,
)
from bench.inprocess import Memory, Timing
from bench.runtime import RuntimeRun, first_invocation_extra_ms, init_cpu_ms, init_ms
from bench.settings import (
    HANDLER_MODULE,
    IMPORT_BUDGET_MS,
    MEMORY_SHARE,
    PACKAGE_DIR,
    ROOT,
    SAM_TEMPLATE,
    runtime_version,
)
from bench.targets import Target


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- CPU: {model}, {os.cpu_count()} logical cores ({usable} usable by this process)",
        f"- Python: {platform.python_implementation()} {platform.python_version()} on {platform.platform()}",
        f"- Load average (1, 5, 15 min) at start: {load_average()}",
    ]


def measured_code() -> str:
    """Which code was measured: the commit, and whether the package's files differ from it."""
    package = PACKAGE_DIR

    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return completed.stdout.strip() if completed.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if not package.is_relative_to(ROOT):
        return f"- Code: package at {package} (not this checkout, whose HEAD is {commit})"
    dirty = git("status", "--porcelain", "--", str(package.relative_to(ROOT)))
    names = sorted(Path(line[3:]).name for line in dirty.splitlines())
    changes = f", with uncommitted changes to {', '.join(names)}" if names else ""
    return f"- Code: commit {commit} of {package.relative_to(ROOT)}{changes}"


def home_as_tilde(text: str, home: str) -> str:
    """`text` with paths under the home folder written from ~ (the docs say where, not whose)."""
    home = home.rstrip("/")
    return re.sub(rf"{re.escape(home)}(?![\w.-])", "~", text) if home else text


def runtime_section(runtime: RuntimeColdStart | str) -> list[str]:
    """Markdown of the cold start on the function's own Python, or of why it was skipped."""
    version = runtime_version(SAM_TEMPLATE.read_text())
    lines = ["## Cold start on the Lambda runtime's Python", ""]
    if isinstance(runtime, str):
        return [*lines, f"Skipped: {runtime}."]
    median = statistics.median
    python = runtime.python

    def home(text: str) -> str:
        return home_as_tilde(text, str(Path.home()))

    lines += [
        f"The function runs python{version} (template.yaml), on Lambda's read-only /var/task. The bundle "
        f"`sam build` ships (src/Makefile, `{BUILD_TARGET}`) is built twice: with `RUNTIME_PYTHON=false`, "
        f"source only, as from a build machine without python{version}; and with `RUNTIME_PYTHON` set to "
        f"the interpreter below, which adds bytecode (`compileall --invalidation-mode unchecked-hash`). "
        f"Each is imported by {python.implementation} {python.version} (`{home(python.executable)}`, found "
        f"{home(python.found_by)}) from an empty venv in {runtime.venv.relative_to(ROOT)}/, with "
        "`PYTHONPATH=<bundle>` and `PYTHONDONTWRITEBYTECODE=1`, so the handler and Powertools "
        f"(aws-lambda-powertools {runtime.powertools}, src/lambda-requirements.txt) both come from the bundle; "
        "Powertools alone is imported from the bundle with bytecode. "
        f"{runtime.runs} fresh interpreters per row, rows run in rotation, CPU "
        "time of the `import` statement alone. `python -v` confirmed each bundle's modules load as built "
        "(from .pyc, or compiled from .py).",
        "",
        "| bundle | files | of them .pyc | bytes | zipped bytes |",
        "|---|---|---|---|---|",
    ]
    for label, size in runtime.bundles.items():
        lines.append(
            f"| {label.removeprefix('handler, ')} | {size.files} | {size.bytecode_files} | {size.bytes:,} "
            f"| {size.zipped_bytes:,} |"
        )
    lines += [
        "",
        "| import | what | CPU ms, median | CPU ms, range | wall ms, median |",
        "|---|---|---|---|---|",
    ]
    subjects = {
        RUNTIME_POWERTOOLS: "aws_lambda_powertools",
        RUNTIME_HANDLER_SOURCE: HANDLER_MODULE,
        RUNTIME_HANDLER_BYTECODE: HANDLER_MODULE,
    }
    for label, modules in subjects.items():
        cpu, wall = runtime.cpu_ms[label], runtime.wall_ms[label]
        lines.append(
            f"| `import {modules}` | {label} | {median(cpu):.1f} | {min(cpu):.1f} to {max(cpu):.1f} "
            f"| {median(wall):.1f} |"
        )
    lines += [
        "",
        "| handler minus Powertools | CPU ms | wall ms | target |",
        "|---|---|---|---|",
    ]
    for handler in (RUNTIME_HANDLER_SOURCE, RUNTIME_HANDLER_BYTECODE):
        by_cpu = median(runtime.cpu_ms[handler]) - median(runtime.cpu_ms[RUNTIME_POWERTOOLS])
        by_wall = median(runtime.wall_ms[handler]) - median(runtime.wall_ms[RUNTIME_POWERTOOLS])
        target = (
            f"≤ {IMPORT_BUDGET_MS:g} ms (Targets)" if handler == RUNTIME_HANDLER_BYTECODE else "— (for scale)"
        )
        lines.append(
            f"| {handler} minus `import aws_lambda_powertools` | {by_cpu:.1f} | {by_wall:.1f} | {target} |"
        )
    return lines


def report(
    timings: list[Timing],
    cold: ColdStart | None,
    memory: Memory | None,
    rounds: int,
    started: str,
    host: list[str],
    runtime: RuntimeColdStart | str | None,
    lambda_run: RuntimeRun | str | None,
    targets: list[Target],
    lint_lines: list[str] | None = None,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {started} with `make bench` (`python -m bench`). One run on a shared machine: rerun to see "
        "the spread.",
        "",
        *host,
        f"- Load average (1, 5, 15 min) at end: {load_average()}",
        measured_code(),
        "",
        "## Expansion against the JSON round trip",
        "",
        "`expand(fragment)` against `json.loads(json.dumps(fragment))` of the same fragment, per call, in "
        f"CPU time (`time.process_time`): median of {rounds} interleaved rounds (timeit, gc off during "
        "timing). Ratio = median of the per-round ratios; the range is the lowest and highest round.",
        "",
        "| size | resources (in → out) | bytes in | expand ms | json round trip ms | ratio | ratio range "
        "| target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        target = f"≤ {t.target:g}x" if t.target is not None else "none"
        lines.append(
            f"| {t.label} | {t.resources_in} → {t.resources_out} | {t.bytes_in:,} | {t.expand_s * 1e3:.3f} "
            f"| {t.json_s * 1e3:.3f} | {t.ratio:.3f}x | {t.ratio_low:.3f} to {t.ratio_high:.3f} | {target} |"
        )
    if any(t.label.startswith("adversarial") for t in timings):
        lines += [
            "",
            "The adversarial rows ([`bench/adversarial.py`](bench/adversarial.py)) are the shapes that once "
            "made a pass quadratic, each padded to just under 1 MiB of compact JSON within 500 resources: "
            "250 roles with 120-character logical IDs and 249 sites naming one with a typo (each an error "
            'with a "did you mean"); 497 policies on one role, each depending on the one before; Fn::If 31 '
            "deep around 124 IamRole values and 124 launch templates' data; 498 resources of every site of "
            "the table using one role. A shape the macro rejects is timed to its answer.",
        ]
    if cold:
        median = statistics.median
        lines += [
            "",
            "## Cold start: import time in a fresh interpreter",
            "",
            "Time of the `import` statement alone (interpreter start-up excluded) in fresh interpreters of "
            f"the Python running the benchmark ({platform.python_version()}; the function's own Python is "
            f"the next section), {cold.runs} per row, rows run in rotation. CPU time (`time.process_time` in the child) is the "
            "measure: unlike wall time it does not grow when other processes compete for the cores. "
            "Powertools is always read from cached bytecode. The handler is measured twice: with its "
            "bytecode cached (an installed package) and compiled from source (a bundle of .py files on "
            "Lambda's read-only /var/task, where no .pyc can be written).",
            "",
            "| import | what | CPU ms, median | CPU ms, range | wall ms, median |",
            "|---|---|---|---|---|",
        ]
        for label, modules in cold.subjects.items():
            lines.append(
                f"| `import {modules}` | {label} | {median(cold.cpu_ms[label]):.1f} "
                f"| {min(cold.cpu_ms[label]):.1f} to {max(cold.cpu_ms[label]):.1f} "
                f"| {median(cold.wall_ms[label]):.1f} |"
            )
        lines += [
            "",
            "| handler minus Powertools | CPU ms | wall ms | target |",
            "|---|---|---|---|",
        ]
        for handler, baseline in (
            (HANDLER_CACHED, POWERTOOLS),
            (HANDLER_CACHED, POWERTOOLS_AS_HANDLER),
            (HANDLER_SOURCE_ONLY, POWERTOOLS),
        ):
            by_cpu = median(cold.cpu_ms[handler]) - median(cold.cpu_ms[baseline])
            by_wall = median(cold.wall_ms[handler]) - median(cold.wall_ms[baseline])
            target = (
                f"≤ {IMPORT_BUDGET_MS:g} ms (Targets)"
                if baseline == POWERTOOLS_AS_HANDLER
                else "— (for scale)"
            )
            lines.append(
                f"| {handler} minus `import {cold.subjects[baseline]}` | {by_cpu:.1f} | {by_wall:.1f} | {target} |"
            )
        top = ", ".join(f"{name} {ms:.1f}" for name, ms in cold.extra_modules[:10])
        lines += [
            "",
            "Modules the handler imports beyond Powertools, own import ms (-X importtime, bytecode cached): "
            f"{top}.",
        ]
    if runtime is not None:
        lines += ["", *runtime_section(runtime)]
    if lambda_run is not None:
        lines += ["", *lambda_runtime_section(lambda_run)]
    if memory:
        limit = memory.memory_size_mb * MEMORY_SHARE
        rss = memory.rss_stages_mb["after dump"][1]
        stages = ", ".join(
            f"{stage} {current:.1f} / {peak:.1f}" for stage, (current, peak) in memory.rss_stages_mb.items()
        )
        lines += [
            "",
            "## Memory, ~1 MB template",
            "",
            f"Function MemorySize (template.yaml): {memory.memory_size_mb} MB; target: at most "
            f"{MEMORY_SHARE:.0%} of it ({limit:g} MB).",
            "",
            "| measure | MB |",
            "|---|---|",
            f"| tracemalloc peak during expand() | {memory.traced_peak_mb:.2f} |",
            f"| tracemalloc peak during the JSON round trip (for scale) | {memory.traced_json_mb:.2f} |",
            f"| peak RSS (VmHWM) of a fresh process: import handler, load, expand, dump | {rss:.1f} |",
            "",
            f"RSS of that process by stage (MB, current / peak so far): {stages}.",
        ]
    if lint_lines is not None:
        lines += ["", *lint_lines]
    lines += ["", *targets_section(targets)]
    return "\n".join(lines) + "\n"


def targets_section(targets: list[Target]) -> list[str]:
    """Every target of this run; `python -m bench --check` fails on the same list."""
    lines = ["## Targets", "", "| target | measured | limit | met? |", "|---|---|---|---|"]
    for t in targets:
        limit = f"{'<' if t.strict else '≤'} {t.limit:g} {t.unit}"
        lines.append(f"| {t.name} | {t.value:.3g} {t.unit} | {limit} | {'yes' if t.met else '**no**'} |")
    missed = [t for t in targets if not t.met]
    lines += ["", f"{len(targets) - len(missed)} of {len(targets)} targets met."]
    return lines


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f} to {max(values):.1f})"


def lambda_runtime_section(run: RuntimeRun | str) -> list[str]:
    """Markdown of the runs in the local Lambda image, or of why they were skipped."""
    lines = ["## On a Lambda runtime: the local image and the runtime interface emulator", ""]
    if isinstance(run, str):
        return [*lines, f"Skipped: {run}."]
    limit = run.memory_size_mb * MEMORY_SHARE
    macro_init = [init_ms(c) for c in run.macro]
    baseline_init = [init_ms(c) for c in run.baseline]
    macro_cpu = [init_cpu_ms(c) for c in run.macro]
    baseline_cpu = [init_cpu_ms(c) for c in run.baseline]
    lines += [
        f"The bundle `sam build` makes, in `{run.image}` ({run.image_label}), run by the emulator SAM ships "
        f"(aws-sam-cli's `aws-lambda-rie`) as `sam local invoke` runs it, with MemorySize {run.memory_size_mb} MB "
        "as the container's memory limit; each row a fresh container, macro and baseline alternating. The "
        "emulator's REPORT line gives Duration; its Init Duration and Max Memory Used are placeholders "
        "(under 0.1 ms and MemorySize, whatever the function does), and it starts the runtime at the first "
        "invocation, whose Duration then holds the init. So *init* here is the emulator's own `INIT "
        "REPORT(durationMs)` line (logged at `--log-level info`): from the runtime's start until awslambdaric, "
        "having imported the handler, asks for the first event, which is what Lambda reports as Init "
        "Duration. *Init CPU* is the runtime process's CPU time through the first invocation less the second "
        "invocation's (from /proc/<pid>/schedstat in the container): unlike the wall clock, it does not grow "
        "with the other load on a shared machine, so the target is judged on it. *1st - 2nd* is the first "
        "invocation's Duration minus the second's (same event): init plus first-call costs. *Memory* is the peak RSS (VmHWM) of the container's processes. Baseline: a "
        "handler that imports exactly the Powertools modules the macro's handler imports, added to a copy "
        "of the same bundle. Median (lowest to highest).",
        "",
        "| handler | containers | event | 1st invocation ms | 2nd invocation ms | 1st - 2nd ms | init ms | init CPU ms "
        "| runtime peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, runs, event in (
        ("macro", run.macro, "ec2_instance.json"),
        ("Powertools only", run.baseline, "ec2_instance.json"),
        ("macro", run.large, f"large_500_resources.json ({run.large_event_bytes:,} bytes)"),
    ):
        imports = _spread([init_ms(c) for c in runs])
        lines.append(
            f"| {label} | {len(runs)} | {event} | {_spread([c.durations_ms[0] for c in runs])} "
            f"| {_spread([c.durations_ms[1] for c in runs])} | {_spread([first_invocation_extra_ms(c) for c in runs])} "
            f"| {imports} | {_spread([init_cpu_ms(c) for c in runs])} | {_spread([c.runtime_peak_mb for c in runs])} |"
        )
    peak = max(c.container_peak_mb for c in run.large)
    lines += [
        "",
        f"Init of the macro beyond Powertools only, CPU: {statistics.median(macro_cpu) - statistics.median(baseline_cpu):.1f} ms "
        f"(median minus median; target ≤ {IMPORT_BUDGET_MS:g} ms), ratio "
        f"{statistics.median(macro_cpu) / statistics.median(baseline_cpu):.2f}x; wall clock (INIT REPORT): "
        f"{statistics.median(macro_init) - statistics.median(baseline_init):.1f} ms, ratio "
        f"{statistics.median(macro_init) / statistics.median(baseline_init):.2f}x. The ~1 MB event ({run.large_resources} "
        f"resources in the fragment): Duration {_spread([c.durations_ms[1] for c in run.large])} ms warm, "
        f"{_spread([c.durations_ms[0] for c in run.large])} ms with the init; the container's peak memory "
        f"(all its processes' VmHWM added up) at most {peak:.1f} MB, target under {limit:g} MB "
        f"({MEMORY_SHARE:.0%} of MemorySize).",
    ]
    return lines
