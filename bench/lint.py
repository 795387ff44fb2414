"""Lint speed: `profile-expand lint` against plain cfn-lint on the same templates, in the same run.

CPU time (user + system) of each child process, from getrusage(RUSAGE_CHILDREN) around it: unlike wall
time it does not grow when other processes compete for the cores. Two ways CI runs a linter: every
template in one call, and one template per process (a pre-commit hook on one changed file). Rounds
alternate the two commands; the ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.settings import ROOT

BIN = Path(sys.executable).parent
# ../shared/corpus beside the checkout: real templates, with the shorthand and as published.
CORPUS = ROOT.parent / "shared" / "corpus"
SERVERLESS = "AWS::Serverless-2016-10-31"
MACRO = "ProfileExpand"
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


@dataclass(frozen=True)
class LintTiming:
    label: str
    templates: int
    mode: str  # "one call" or "one per process"
    plain_s: float  # median CPU seconds of plain cfn-lint, per round
    ours_s: float  # median CPU seconds of profile-expand lint, per round
    ratio: float  # median of the per-round ratios
    ratio_low: float
    ratio_high: float


def _cpu_of(command: Sequence[str]) -> float:
    """CPU seconds the child running `command` used (its exit code is the linter's, not checked)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(list(command), capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _commands(files: Sequence[Path]) -> tuple[list[str], list[str]]:
    names = [str(path) for path in files]
    # --format json: the same output work for both; `--` so that no file is read as an option's value.
    plain = [str(BIN / "cfn-lint"), "--format", "json", "--", *names]
    ours = [str(BIN / "profile-expand"), "lint", "--format", "json", "--", *names]
    return plain, ours


def time_lint(label: str, files: Sequence[Path], rounds: int, *, per_process: bool) -> LintTiming:
    """Both linters over `files`, `rounds` times, alternating which goes first."""
    plain_s: list[float] = []
    ours_s: list[float] = []
    batches = [[path] for path in files] if per_process else [list(files)]
    for number in range(rounds):
        plain_round = ours_round = 0.0
        for batch in batches:
            plain, ours = _commands(batch)
            order = (plain, ours) if number % 2 == 0 else (ours, plain)
            spent = {id(command): _cpu_of(command) for command in order}
            plain_round += spent[id(plain)]
            ours_round += spent[id(ours)]
        plain_s.append(plain_round)
        ours_s.append(ours_round)
    ratios = [ours / plain for ours, plain in zip(ours_s, plain_s, strict=True)]
    return LintTiming(
        label,
        len(files),
        "one per process" if per_process else "one call",
        statistics.median(plain_s),
        statistics.median(ours_s),
        statistics.median(ratios),
        min(ratios),
        max(ratios),
    )


def corpus_templates(folder: Path = CORPUS) -> list[Path]:
    """Every template of the shared corpus (shorthand and originals), or none where it is absent."""
    return sorted(p for p in folder.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.name != "manifest.json")


def with_macro_after_sam(text: str, suffix: str) -> str:
    """A SAM template's text with ProfileExpand listed after its transforms (SAM first), as a user adds it."""
    if suffix == ".json":
        template = json.loads(text)
        declared = template.get("Transform") or SERVERLESS
        names = declared if isinstance(declared, list) else [declared]
        template["Transform"] = [*names, MACRO]
        return json.dumps(template, indent=2) + "\n"
    lines = text.splitlines()
    for number, line in enumerate(lines):
        found = re.match(r"^Transform\s*:\s*(.*?)\s*$", line)
        if not found:
            continue
        value = found.group(1)
        if value.startswith("[") and value.endswith("]"):
            lines[number] = f"Transform: {value[:-1]}, {MACRO}]"
        elif value:
            lines[number] = f"Transform: [{value}, {MACRO}]"
        else:  # a block list: add an item after its last one
            end = number + 1
            while end < len(lines) and re.match(r"^\s*-\s", lines[end]):
                end += 1
            indent = re.match(r"^(\s*)-", lines[end - 1]).group(1) if end > number + 1 else ""  # type: ignore[union-attr]
            lines.insert(end, f"{indent}- {MACRO}")
        return "\n".join(lines) + "\n"
    start = "---\n" if text.startswith("---\n") else ""
    return f"{start}Transform: [{SERVERLESS}, {MACRO}]\n{text[len(start) :]}"


@contextmanager
def sam_inputs_with_macro(folder: Path) -> Iterator[list[Path]]:
    """The valid inputs of SAM's translator tests (not error_*), each with ProfileExpand after SAM."""
    with tempfile.TemporaryDirectory(prefix="bench-sam-") as out:
        written = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith("error_") or path.suffix not in TEMPLATE_SUFFIXES:
                continue
            target = Path(out) / path.name
            target.write_text(
                with_macro_after_sam(path.read_text(encoding="utf-8"), path.suffix), encoding="utf-8"
            )
            written.append(target)
        yield written


def compile_package() -> None:
    """Give profile_expand its bytecode, as pip does when it installs the wheel.

    cfn-lint's modules were compiled when pip installed them; this checkout's editable install has no
    bytecode where PYTHONDONTWRITEBYTECODE is set (as on this project's machines), so every lint process
    would compile the package from source, a cost no installed user pays, and the ratio would measure it.
    """
    import compileall

    import profile_expand

    compileall.compile_dir(str(Path(profile_expand.__file__).parent), quiet=1)


def measure(rounds: int, sam_inputs: Path | None) -> list[LintTiming]:
    """The rows of the lint section: the shared corpus both ways, SAM's test inputs in one call."""
    compile_package()
    rows = []
    corpus = corpus_templates()
    if corpus:
        rows.append(time_lint("shared corpus", corpus, rounds, per_process=False))
        rows.append(time_lint("shared corpus", corpus, rounds, per_process=True))
    if sam_inputs is not None:
        with sam_inputs_with_macro(sam_inputs) as files:
            rows.append(
                time_lint("SAM translator test inputs + ProfileExpand", files, rounds, per_process=False)
            )
    return rows


def lint_section(rows: list[LintTiming], rounds: int, target: float) -> list[str]:
    lines = [
        "## Lint against plain cfn-lint",
        "",
        "`profile-expand lint --format json` against `cfn-lint --format json` on the same files, CPU time "
        f"of the child processes, median of {rounds} alternating rounds; ratio = median of the per-round "
        f"ratios (range: lowest and highest round). Target: at most {target:g}x both ways.",
        "",
        "| templates | how | cfn-lint CPU s | profile-expand lint CPU s | ratio | ratio range |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} ({row.templates}) | {row.mode} | {row.plain_s:.2f} | {row.ours_s:.2f} "
            f"| {row.ratio:.3f}x | {row.ratio_low:.3f} to {row.ratio_high:.3f} |"
        )
    if not rows:
        lines.append("| (no corpus found) | | | | | |")
    return lines
