"""Refuse a Lambda bundle's compiled extensions unless allowed and built for the function's architecture.

`python check_extensions.py BUNDLE [PATTERN ...]`: every `*.so` under BUNDLE must match a PATTERN (a glob
relative to BUNDLE) and be an ELF shared object for aarch64 (the ELF header's e_machine, 183), else it
prints why and exits 1. No PATTERN: the bundle must be pure Python (the macro's). Used by src/Makefile.
"""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

EM_AARCH64 = 183  # the ELF e_machine of arm64 (the functions' Architectures: [arm64])


def elf_machine(path: Path) -> int | None:
    """The ELF header's e_machine (bytes 18-19, in the file's byte order), None for anything not ELF."""
    head = path.read_bytes()[:20]
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def problems(bundle: Path, allowed: list[str]) -> list[str]:
    found = []
    for path in sorted(bundle.rglob("*.so")):
        relative = path.relative_to(bundle).as_posix()
        if not any(fnmatch.fnmatch(relative, pattern) for pattern in allowed):
            found.append(f"{relative}: a compiled extension this function must not carry")
            continue
        machine = elf_machine(path)
        if machine != EM_AARCH64:
            found.append(f"{relative}: ELF machine {machine}, not aarch64 ({EM_AARCH64}): wrong architecture")
    return found


def main(argv: list[str]) -> int:
    found = problems(Path(argv[0]), argv[1:])
    for problem in found:
        print(f"bundle refused: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
