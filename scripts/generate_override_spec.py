"""Regenerate src/profile_expand/lint/data/override-spec.json from the sites table and cfn-lint's schemas.

Run after adding a site or upgrading cfn-lint, then review the diff: `git diff src/profile_expand/lint/data`.
"""

from __future__ import annotations

import sys

from profile_expand.lint.override_spec import SHIPPED_FILE, render_override_spec


def main() -> int:
    text = render_override_spec()
    previous = SHIPPED_FILE.read_text(encoding="utf-8") if SHIPPED_FILE.exists() else None
    if text == previous:
        print(f"{SHIPPED_FILE} is up to date.")
        return 0
    SHIPPED_FILE.parent.mkdir(parents=True, exist_ok=True)
    SHIPPED_FILE.write_text(text, encoding="utf-8")
    print(f"Wrote {SHIPPED_FILE}; review the diff.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
