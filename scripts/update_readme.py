"""Write the generated parts of README.md: the sites table (from SITES), the rules table (from the lint
rules' metadata) and the benchmark table.

Run after changing sites.py, or after `make bench`; a test fails while the README's sites table is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from profile_expand.core.sites import sites_markdown  # noqa: E402
from profile_expand.lint.rules import rules_markdown  # noqa: E402

README = ROOT / "README.md"
BENCH_RESULTS = ROOT / "bench" / "results.md"


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def main() -> int:
    text = replace_section(README.read_text(), "sites-table", sites_markdown())
    text = replace_section(text, "rules-table", rules_markdown())
    if BENCH_RESULTS.exists():
        # The results file is a document of its own: its headings go two levels down, under "## Benchmark".
        results = re.sub(r"^(#+) ", r"##\1 ", BENCH_RESULTS.read_text(), flags=re.M)
        text = replace_section(text, "bench", results.rstrip("\n") + "\n")
    README.write_text(text)
    print("README.md updated: review the diff.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
