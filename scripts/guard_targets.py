"""Write guard.yaml's ResourceHook TargetNames from the sites table (profile_expand.guard.hook.GUARDED_TYPES).

Run after changing sites.py; tests/unit/test_guard_template.py fails while guard.yaml is stale.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from profile_expand.guard.hook import GUARDED_TYPES  # noqa: E402

GUARD_TEMPLATE = ROOT / "guard.yaml"
_BLOCK = re.compile(r"^( *)# guard-targets:start\n.*?^ *# guard-targets:end\n", re.S | re.M)


def render(text: str) -> str:
    """guard.yaml's text with the block between its guard-targets markers generated anew."""

    def block(match: re.Match[str]) -> str:
        indent = match.group(1)
        names = "".join(f"{indent}  - {name}\n" for name in GUARDED_TYPES)
        return f"{indent}# guard-targets:start\n{indent}TargetNames:\n{names}{indent}# guard-targets:end\n"

    rendered, count = _BLOCK.subn(block, text)
    if count != 1:
        raise SystemExit(f"{GUARD_TEMPLATE.name} must hold one guard-targets:start/end block, not {count}")
    return rendered


def main() -> int:
    text = render(GUARD_TEMPLATE.read_text(encoding="utf-8"))
    # Atomic: a crash leaves the old file whole.
    handle, temporary = tempfile.mkstemp(dir=ROOT, prefix=".guard.yaml.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, GUARD_TEMPLATE.stat().st_mode & 0o777)
    os.replace(temporary, GUARD_TEMPLATE)
    print(f"{GUARD_TEMPLATE.name} updated: review the diff.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
