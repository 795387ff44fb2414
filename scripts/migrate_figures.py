"""Run `profile-expand migrate` over folders of real templates and count what it did (the README's figures).

    python scripts/migrate_figures.py [--keep-references] [FOLDER ...]

Default folders: ../shared/corpus/originals, plus $PROFILE_EXPAND_EXTRA_CORPUS when set. For every template:
the migrated text must parse, expand to exactly the original and keep every comment of it (migrate checks
both itself: a mismatch is a bug), and change no text outside the edits migrate makes. Exit 1 on any failure.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

from profile_expand.cli.migrate import Plan  # noqa: E402
from profile_expand.cli.migrate_nodes import (  # noqa: E402
    _compose,
    _content_end,
    _line_end,
    _line_start,
    _node_at,
    comments,
)
from profile_expand.cli.migrate_source import migrate_text  # noqa: E402
from profile_expand.cli.yaml_io import decode, detect_format  # noqa: E402
from profile_expand.core.sites import SiteKind  # noqa: E402

SUFFIXES = (".json", ".yaml", ".yml", ".template")
EXTRA_ENV = "PROFILE_EXPAND_EXTRA_CORPUS"


@dataclass
class Survey:
    """What migrate did to one file, and anything wrong with it."""

    path: Path
    format: str
    profiles: int = 0
    converted: int = 0
    kept: Counter[str] = field(default_factory=Counter)  # profiles by their first reason
    reasons: Counter[str] = field(default_factory=Counter)  # every reason given
    sites: int = 0
    other_form: int = 0  # sites converted with Profile Form (the form the author wrote)
    implied: int = 0  # DependsOn that went because a reference implies it (the profile's own, or a site's)
    comments: int = 0  # comments of the original (migrate checks that each one is in its output)
    problems: list[str] = field(default_factory=list)  # any entry is a failure


def default_folders() -> list[Path]:
    folders = [ROOT.parent / "shared" / "corpus" / "originals"]
    if os.environ.get(EXTRA_ENV):
        folders.append(Path(os.environ[EXTRA_ENV]))
    return [folder for folder in folders if folder.is_dir()]


def templates(folders: list[Path]) -> list[Path]:
    return sorted(p for folder in folders for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def survey(path: Path, keep_references: bool = False) -> Survey:
    text = path.read_bytes().decode("utf-8")  # as is: CRLF files stay CRLF
    result = Survey(path, detect_format(text).value)
    result.comments = len(comments(text))
    try:
        migration = migrate_text(text, str(path), keep_references=keep_references)
    except Exception as error:  # a crash on a real template is a finding to count, not to hide
        result.problems.append(f"migrate failed: {type(error).__name__}: {error}")
        return result
    plan = migration.plan
    result.profiles = len(plan.conversions) + len(plan.kept)
    result.converted = len(plan.conversions)
    result.sites = sum(len(c.slots) for c in plan.conversions)
    original = decode(text, str(path)).plain["Resources"]
    for conversion in plan.conversions:
        result.other_form += sum(
            form is not slot.site.writes
            for slot, form in zip(conversion.slots, conversion.forms, strict=True)
        )
        result.implied += len(conversion.dropped) + ("DependsOn" in original[conversion.profile])
    for kept in plan.kept:
        result.kept[kept.reasons[0].code if kept.reasons else "none"] += 1
        result.reasons.update(reason.code for reason in kept.reasons)
    result.problems += [f"mismatch: {m}" for m in migration.mismatches]
    if not plan.conversions:
        if migration.text != text:
            result.problems.append("nothing converted, yet the text changed")
        return result
    try:
        decode(migration.text, str(path))
    except Exception as error:
        result.problems.append(f"the migrated file does not parse: {error}")
    result.problems += _untouched(text, migration.text, plan)
    return result


def _untouched(original: str, migrated: str, plan: Plan) -> list[str]:
    """Every stretch of the original outside migrate's edits is in the output, in order, byte for byte;
    (That every comment of the original is still there, those inside what it removed or rewrote included,
    migrate_text checks itself: a missing one is a mismatch.)"""
    root = _compose(original)
    resources = _node_at(root, ("Resources",))[2]
    siblings = list(resources.value)
    regions: list[tuple[int, int]] = []
    for conversion in plan.conversions:
        position = next(i for i, (key, _) in enumerate(siblings) if key.value == conversion.profile)
        key, value = siblings[position]
        start = _content_end(original, siblings[position - 1][1]) if position else key.start_mark.index
        end = siblings[position + 1][0].start_mark.index if position + 1 < len(siblings) else len(original)
        regions.append((start, end))
        for logical_id in conversion.dropped:
            key, value = _node_at(root, ("Resources", logical_id, "DependsOn"))[1:]
            start = _line_start(original, key.start_mark.index)
            regions.append((start, _line_end(original, _content_end(original, value))))
        for slot in conversion.slots:
            _, key, value = _node_at(root, slot.path)
            # The site's line to its end: comments inside a value over several lines follow it.
            regions.append(
                ((key or value).start_mark.index, _line_end(original, _content_end(original, value)))
            )
            if slot.site.kind is SiteKind.OPTION_SETTING:
                name = _node_at(root, (*slot.path[:-1], "OptionName"))[2]
                regions.append((name.start_mark.index, _content_end(original, name)))
    transform = [(k, v) for k, v in root.value if k.value == "Transform"]
    if transform:
        value = transform[0][1]
        regions.append((value.start_mark.index, _content_end(original, value)))
    else:
        # Transform is inserted after Description / AWSTemplateFormatVersion (or before the first key).
        anchors = [v for k, v in root.value if k.value in ("AWSTemplateFormatVersion", "Description")]
        at = _content_end(original, anchors[-1]) if anchors else root.value[0][0].start_mark.index
        regions.append((at, at))
    problems = []
    position = 0
    for start, end in [*_gaps(sorted(regions), len(original))]:
        stretch = original[start:end]
        found = migrated.find(stretch, position)
        if found < 0:
            problems.append(
                f"text outside the edits changed near line {original.count(chr(10), 0, start) + 1}"
            )
            break
        position = found + len(stretch)
    # Every comment of the original is still there: migrate_text checks it itself (a mismatch if not).
    return problems


def _gaps(regions: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The stretches of text between edited regions."""
    gaps, cursor = [], 0
    for start, end in regions:
        if start >= cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < length:
        gaps.append((cursor, length))
    return gaps


def report(surveys: list[Survey]) -> str:
    """The figures as Markdown."""
    total_kept: Counter[str] = Counter()
    total_reasons: Counter[str] = Counter()
    for item in surveys:
        total_kept.update(item.kept)
        total_reasons.update(item.reasons)
    by_format = Counter(item.format for item in surveys)
    with_profiles = [item for item in surveys if item.profiles]
    changed = [item for item in surveys if item.converted]
    failures = [item for item in surveys if item.problems]
    profiles = sum(item.profiles for item in surveys)
    converted = sum(item.converted for item in surveys)
    lines = [
        f"- templates: {len(surveys)} ({by_format['yaml']} YAML, {by_format['json']} JSON), "
        f"{len(with_profiles)} with hand-written instance profiles; {sum(i.comments for i in surveys)} comments",
        f"- profiles: {profiles}; **converted {converted}** (at {sum(i.sites for i in surveys)} sites, "
        f"in {len(changed)} templates); kept {profiles - converted}",
        f"- sites converted in the form the author wrote (Profile Form): {sum(i.other_form for i in surveys)}; "
        f"DependsOn dropped because a reference implies it: {sum(i.implied for i in surveys)}",
        f"- **mismatches: {sum(1 for i in surveys for p in i.problems if p.startswith('mismatch'))}**; "
        f"other failures (crash, unparsable output, text outside the edits changed): "
        f"{sum(1 for i in surveys for p in i.problems if not p.startswith('mismatch'))}",
        "",
        "| kept because (first reason) | profiles | reason given (all) |",
        "|---|---|---|",
    ]
    for code, count in sorted(
        total_reasons.items(), key=lambda item: (-total_kept[item[0]], -item[1], item[0])
    ):
        lines.append(f"| {code} | {total_kept[code]} | {count} |")
    for item in failures:
        lines.append(f"\nFAILED {item.path.name}: {'; '.join(item.problems)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    keep_references = "--keep-references" in argv
    folders = [Path(arg) for arg in argv if arg != "--keep-references"] or default_folders()
    if not folders:
        print("no corpus folder found", file=sys.stderr)
        return 2
    for folder in folders:
        files = templates([folder])
        surveys = [survey(path, keep_references) for path in files]
        print(f"### {folder}\n\n{report(surveys)}\n")
    everything = (
        [survey(path, keep_references) for path in templates(folders)] if len(folders) > 1 else surveys
    )
    if len(folders) > 1:
        print(f"### All\n\n{report(everything)}")
    return 1 if any(item.problems for item in everything) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
