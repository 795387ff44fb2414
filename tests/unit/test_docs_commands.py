"""Every shell command shown in README.md and docs/ is marked run, check or aws (tests/docs_blocks.py), and
the commands that are not run here are checked against what they name: Makefile targets, the CLI's own
parser, pyproject.toml's extras. A renamed target, subcommand or option fails here, not in a reader's shell."""

from __future__ import annotations

import contextlib
import io
import re
import tomllib

import pytest

from profile_expand.cli.main import _parser
from tests.docs_blocks import KINDS, Block, all_blocks, commands, program
from tests.support import ROOT

BLOCKS = all_blocks()
# Programs a run block may use beyond the ones checked below.
RUN_PROGRAMS = {"cp", "python"}
# Programs shown with an AWS account at hand; `sam` subcommands are SAM CLI's own.
SAM_SUBCOMMANDS = {"build", "deploy", "validate", "package", "publish", "local"}


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets: set[str] = set()
    for line in re.findall(r"^([A-Za-z][\w .-]*?):(?!=)", text, flags=re.M):
        targets.update(line.split())
    return targets


def extras() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["optional-dependencies"])


def problem(argv: list[str], kind: str) -> str | None:
    """What is wrong with one command of a block (None: nothing)."""
    name = program(argv)
    if name == "make":
        missing = [word for word in argv[1:] if "=" not in word and word not in make_targets()]
        return f"no Makefile target {missing}" if missing else None
    if name == "profile-expand":
        if argv[1:2] == ["lint"]:
            return None  # cfn-lint's own options: lint hands them to cfn-lint unparsed
        with contextlib.redirect_stderr(io.StringIO()) as said:
            try:
                _parser().parse_args(argv[1:])
            except SystemExit:
                return f"the CLI's parser refuses it: {said.getvalue().strip()}"
        return None
    if name in ("pip", "pip3"):
        wanted = {
            extra
            for word in argv
            for extra in re.findall(r"\.\[([\w,-]+)\]", word)
            for extra in extra.split(",")
        }
        return f"pyproject.toml has no extra {sorted(wanted - extras())}" if wanted - extras() else None
    if name == "cfn-lint":
        return None if (ROOT / ".venv" / "bin" / "cfn-lint").exists() or kind != "run" else "no cfn-lint"
    if name == "sam":
        return None if argv[1:2] and argv[1] in SAM_SUBCOMMANDS else f"not a SAM CLI command: {argv[1:2]}"
    if name in ("aws", "git") and kind == "aws":
        return None
    if name in RUN_PROGRAMS and kind == "run":
        return None
    return f"{name}: teach tests/unit/test_docs_commands.py to check it, or mark the block run"


def test_there_are_blocks_of_every_kind() -> None:
    assert {block.kind for block in BLOCKS} == set(KINDS)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"{block.page}:{block.line}")
def test_each_shell_block_is_marked_and_each_command_checks(block: Block) -> None:
    assert block.kind in KINDS, (
        f"{block.page}:{block.line}: write ```sh after <!-- docs-commands: run|check|aws --> (tests/docs_blocks.py)"
    )
    argvs = commands(block.text)
    assert argvs, "an empty block"
    for argv in argvs:
        said = problem(argv, block.kind)
        assert said is None, f"{block.page}:{block.line}: `{' '.join(argv)}`: {said}"


def test_the_checker_catches_a_stale_command() -> None:
    assert problem(["make", "no-such-target"], "check")
    assert problem(["profile-expand", "expand", "t.yaml", "--no-such-option"], "check")
    assert problem(["profile-expand", "frobnicate"], "check")
    assert problem(["pip", "install", ".[no-such-extra]"], "check")
    assert problem(["curl", "https://example.com"], "check")
    assert problem(["make", "invoke-macro", "EVENT=e.json"], "run") is None
