"""The shell commands the docs show: every ```sh block of README.md and docs/ carries a marker on the line
before it, `<!-- docs-commands: run|check|aws -->`, saying how the tests keep it true.

- run: tests/integration/test_docs_recipes.py runs the block as written, from the repository's root with
  .venv/bin first on PATH (blocks that need Docker are skipped, saying why, where no daemon answers).
- check: too long or too heavy to run here (`make test` itself, `make bench`...): tests/unit/
  test_docs_commands.py checks each command (a Makefile target, a command line the CLI's parser accepts,
  an extra pyproject.toml declares).
- aws: needs an AWS account; its `profile-expand` lines are checked as above.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import NamedTuple

from tests.support import ROOT

MARKER = re.compile(r"^(?P<indent> *)<!-- docs-commands: (?P<kind>\w+) -->\n(?P=indent)```sh\n", re.M)
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[\w-]*)\n", re.M)
KINDS = ("run", "check", "aws")
# Fence languages that are shell by another name: the docs write every shell block as `sh`.
OTHER_SHELLS = ("bash", "shell", "console", "zsh", "shell-session")


class Block(NamedTuple):
    page: str
    line: int
    kind: str | None
    text: str


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every ```sh block of a page (and every block of another shell language, kind "other")."""
    text = path.read_text(encoding="utf-8")
    found = []
    position = 0
    while match := FENCE.search(text, position):
        indent, info = match["indent"], match["info"]
        close = re.compile(rf"^{indent}```\s*$", re.M).search(text, match.end())
        end = close.start() if close else len(text)
        position = close.end() if close else len(text)
        if info != "sh" and info not in OTHER_SHELLS:
            continue
        body = "\n".join(line.removeprefix(indent) for line in text[match.end() : end].splitlines())
        before = text[: match.start()].splitlines()[-1:] or [""]
        marker = re.fullmatch(r" *<!-- docs-commands: (\w+) -->", before[0])
        kind = (marker.group(1) if marker else None) if info == "sh" else "other"
        found.append(Block(str(path.relative_to(ROOT)), text.count("\n", 0, match.start()) + 1, kind, body))
    return found


def all_blocks() -> list[Block]:
    return [block for path in pages() for block in blocks(path)]


def commands(block_text: str) -> list[list[str]]:
    """The commands of a block as argv lists: continuation lines joined, comments and redirections dropped,
    `&&` chains split."""
    joined = re.sub(r"\\\n\s*", " ", block_text)
    argvs = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        skip = False
        for word in [*words, "&&"]:
            if skip:
                skip = False
            elif word in ("<", ">", ">>", "2>"):
                skip = True
            elif word in ("&&", "||", ";"):
                if current:
                    argvs.append(current)
                current = []
            else:
                current.append(word)
    return argvs


def program(argv: list[str]) -> str:
    """The program's name, `.venv/bin/` taken off."""
    return argv[0].removeprefix(".venv/bin/")
