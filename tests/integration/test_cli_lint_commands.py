"""`profile-expand lint` against plain cfn-lint, each in its own process (issue 16 item 17).

A template's findings are cfn-lint's own on that template, as written, plus this package's rules'
(E9xxx/W9xxx), whatever the Transform chain. cfn-lint is given the override spec, which the rules apply
for it inside `lint`: without it plain cfn-lint reports E3002 on every IamRole.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from profile_expand.lint.override_spec import SHIPPED_FILE
from tests.support import ROOT

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
FIXTURES = ROOT / "tests" / "fixtures" / "lint"
TEMPLATES = sorted((FIXTURES / "templates").rglob("*.yaml")) + sorted((FIXTURES / "sam").glob("*.yaml"))


def findings(command: list[str], cwd: Path) -> set[tuple[Any, ...]]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 2, 4, 6, 8, 10, 12, 14), done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return {
        (
            Path(f["Filename"]).name,
            f["Rule"]["Id"],
            f["Location"]["Start"]["LineNumber"],
            f["Location"]["Start"]["ColumnNumber"],
            f["Message"],
        )
        for f in json.loads(done.stdout or "[]")
    }


def ours(found: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    return {f for f in found if re.fullmatch(r"[EW]9\d\d\d", f[1])}


def test_cfn_lints_own_findings_are_unchanged_and_ours_are_added(tmp_path: Path) -> None:
    names = [str(path) for path in TEMPLATES]
    linted = findings([str(BIN / "profile-expand"), "lint", "--format", "json", "--", *names], tmp_path)
    plain = findings(
        [str(BIN / "cfn-lint"), "--format", "json", "--override-spec", str(SHIPPED_FILE), "--", *names],
        tmp_path,
    )
    assert linted - ours(linted) == plain
    assert ours(linted)  # the bad fixtures do have findings of ours


def test_adding_the_macro_after_sam_changes_none_of_cfn_lints_findings(tmp_path: Path) -> None:
    """The same SAM templates with and without ProfileExpand listed after AWS::Serverless-2016-10-31."""
    sam = sorted((FIXTURES / "sam").glob("*.yaml"))
    without = tmp_path / "without"
    without.mkdir()
    for path in sam:
        text = path.read_text(encoding="utf-8")
        assert "[AWS::Serverless-2016-10-31, ProfileExpand]" in text
        (without / path.name).write_text(text.replace(", ProfileExpand]", "]"), encoding="utf-8")
    linted = findings(
        [str(BIN / "profile-expand"), "lint", "--format", "json", "--", *map(str, sam)], tmp_path
    )
    plain = findings(
        [
            str(BIN / "cfn-lint"),
            "--format",
            "json",
            "--override-spec",
            str(SHIPPED_FILE),
            "--",
            *(str(without / p.name) for p in sam),
        ],
        tmp_path,
    )
    assert linted - ours(linted) == plain


@pytest.mark.parametrize(
    "arguments",
    [["--help"], [str(FIXTURES / "templates" / "bad" / "expansion_warning.yaml")]],
    ids=["help", "findings"],
)
def test_a_closed_standard_output_is_one_line_and_exit_2(arguments: list[str]) -> None:
    done = subprocess.run(
        ["bash", "-c", '"$@" >&-', "lint", str(BIN / "profile-expand"), "lint", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr == "profile-expand lint: error: cannot write standard output: standard output is closed\n"
    )
