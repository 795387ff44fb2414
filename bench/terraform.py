"""Terraform lint speed: `profile-expand lint MODULE` against a python-hcl2 process parsing the same files,
and checkov on the same folders, on the modules of .terraform-corpus (`make terraform-corpus`).

CPU time (user + system) of each child process, as bench/lint.py measures. The ratio is the median over
modules of each module's median over rounds. checkov runs from its own virtual environment
(.bench-checkov: `python -m venv .bench-checkov && .bench-checkov/bin/pip install checkov`), never
from the project's: it pins its own dependencies. Without it the checkov column says why.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.lint import _cpu_of
from bench.settings import ROOT

BIN = Path(sys.executable).parent
CORPUS = ROOT / ".terraform-corpus"
CHECKOV = ROOT / ".bench-checkov" / "bin" / "checkov"
# Issue 25: lint of a module at most this many times a python-hcl2 process parsing its files (median).
TERRAFORM_RATIO_TARGET = 1.5
_PARSE = "import hcl2, sys\nfor name in sys.argv[1:]:\n    with open(name) as f:\n        hcl2.load(f)\n"


@dataclass(frozen=True)
class TerraformTiming:
    modules: int
    files: int
    ours_s: float  # median CPU seconds per module
    hcl2_s: float
    ratio: float  # median over modules of ours / hcl2
    ratio_high: float  # the worst module
    checkov_s: float | None
    checkov_note: str


def _modules(limit: int) -> list[Path]:
    every = sorted(path for path in CORPUS.iterdir() if path.is_dir() and any(path.glob("*.tf")))
    if len(every) <= limit:
        return every
    step = len(every) / limit
    return [every[int(position * step)] for position in range(limit)]


def measure(rounds: int, limit: int) -> TerraformTiming | str:
    if not CORPUS.is_dir():
        return "no .terraform-corpus (make terraform-corpus)"
    modules = _modules(limit)
    ratios, ours_all, hcl2_all, checkov_all = [], [], [], []
    files = 0
    use_checkov = CHECKOV.is_file()
    for module in modules:
        names = [str(path) for path in sorted(module.glob("*.tf"))]
        files += len(names)
        ours, parse, checkov = [], [], []
        for _ in range(rounds):
            ours.append(_cpu_of([str(BIN / "profile-expand"), "lint", str(module)]))
            parse.append(_cpu_of([sys.executable, "-c", _PARSE, *names]))
        if use_checkov:
            command = [str(CHECKOV), "-d", str(module), "--framework", "terraform", "--quiet", "--compact"]
            checkov.append(_cpu_of([*command, "--skip-download"]))
            checkov_all.append(statistics.median(checkov))
        ours_all.append(statistics.median(ours))
        hcl2_all.append(statistics.median(parse))
        ratios.append(ours_all[-1] / hcl2_all[-1])
    note = "" if use_checkov else "checkov not measured: no .bench-checkov (see bench/terraform.py)"
    return TerraformTiming(
        len(modules),
        files,
        statistics.median(ours_all),
        statistics.median(hcl2_all),
        statistics.median(ratios),
        max(ratios),
        statistics.median(checkov_all) if checkov_all else None,
        note,
    )


def section(result: TerraformTiming | str | None, rounds: int) -> str:
    if result is None:
        return ""
    lines = ["", "## Terraform lint (issue 25)", ""]
    if isinstance(result, str):
        return "\n".join([*lines, f"Not measured: {result}.", ""])
    checkov = f"{result.checkov_s:.2f} s" if result.checkov_s is not None else result.checkov_note
    lines += [
        f"{result.modules} modules of .terraform-corpus ({result.files} .tf files), {rounds} rounds each; CPU "
        "seconds of one process per module, median over modules.",
        "",
        "| profile-expand lint | python-hcl2 parsing the same files | ratio (median; worst module) | checkov -d |",
        "|---|---|---|---|",
        f"| {result.ours_s:.2f} s | {result.hcl2_s:.2f} s | {result.ratio:.2f}x; {result.ratio_high:.2f}x | {checkov} |",
        "",
    ]
    return "\n".join(lines)
