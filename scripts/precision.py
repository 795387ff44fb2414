"""Precision on real templates: run this project's cfn-lint rules over public templates and list each finding.

    python scripts/precision.py [--extra DIR ...] [--corpus DIR]

Reads ../shared/corpus/originals (the project's real-world corpus) and every folder given with --extra
(templates collected elsewhere that cannot be committed). Prints how many templates were read, how many
findings each rule gave, and every finding (file:line, rule, message), so that each can be judged a true
or a false positive. Exit code 0 whatever is found: judging is the reader's job.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cfnlint import schema as cfnlint_schema  # noqa: E402
from cfnlint.api import ManualArgs, lint  # noqa: E402

from profile_expand.lint.override_spec import SHIPPED_FILE  # noqa: E402
from profile_expand.lint.rules import RULES, RULES_DIR  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "originals"
SUFFIXES = (".json", ".yaml", ".yml", ".template")
OUR_RULES = {rule.id for rule in RULES}
# cfn-lint's own: the template could not be read (E0000), or a rule crashed on it (E0002). Either means the
# template was not judged, so they are counted too.
NOT_JUDGED = {"E0000", "E0001", "E0002"}


def templates(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix in SUFFIXES and path.is_file())


def findings(path: Path) -> list[tuple[int, str, str]]:
    """(line, rule, message) of each finding of this project's rules, in line order."""
    config = ManualArgs(  # type: ignore[typeddict-unknown-key]
        regions=["us-east-1"], append_rules=[str(RULES_DIR)], override_spec=str(SHIPPED_FILE)
    )
    try:
        matches = lint(path.read_text(encoding="utf-8"), config=config)
    finally:
        cfnlint_schema.reset()  # the override spec patches cfn-lint's schemas process-wide
    found = [(m.linenumber, m.rule.id, m.message) for m in matches if m.rule.id in OUR_RULES | NOT_JUDGED]
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the project's corpus originals")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="another folder of templates")
    args = parser.parse_args(argv)
    folders = [folder for folder in (args.corpus, *args.extra) if folder.is_dir()]
    for missing in {args.corpus, *args.extra} - set(folders):
        print(f"skipped {missing}: no such folder", file=sys.stderr)
    counts: Counter[str] = Counter()
    read = with_findings = 0
    lines: list[str] = []
    for folder in folders:
        for path in templates(folder):
            read += 1
            found = findings(path)
            with_findings += bool(found)
            for line, rule, message in found:
                counts[rule] += 1
                lines.append(f"{folder.name}/{path.relative_to(folder)}:{line}: {rule} {message}")
    print(f"templates: {read} ({', '.join(f'{f}: {len(templates(f))}' for f in folders)})")
    print(f"templates with findings: {with_findings}")
    print("findings per rule: " + (", ".join(f"{rule} {counts[rule]}" for rule in sorted(counts)) or "none"))
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
