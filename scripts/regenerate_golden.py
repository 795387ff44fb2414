"""Regenerate tests/golden/output from tests/golden/input. Review the diff before committing it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.support import GOLDEN_INPUT, GOLDEN_OUTPUT, dump_json, golden_cases, load_template  # noqa: E402

from profile_expand import InvalidTemplateError, expand  # noqa: E402


def main() -> int:
    GOLDEN_OUTPUT.mkdir(exist_ok=True)
    wanted = set()
    for case in golden_cases():
        template = load_template(GOLDEN_INPUT / f"{case}.yaml")
        try:
            result = expand(template)
        except InvalidTemplateError as error:
            result = {"errorMessage": error.summary}
        wanted.add(f"{case}.json")
        (GOLDEN_OUTPUT / f"{case}.json").write_text(dump_json(result))
    for stale in GOLDEN_OUTPUT.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    print(
        f"wrote {len(wanted)} golden outputs to {GOLDEN_OUTPUT.relative_to(ROOT)}: review the diff (git diff)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
