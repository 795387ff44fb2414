"""The docs' `run` blocks (tests/docs_blocks.py), run as written: from the repository's root, .venv/bin first
on PATH, each block one bash script that must exit 0 and leave the work tree as it was (what a recipe
writes goes to /tmp or to git-ignored folders). The local-invoke recipes of docs/getting-started.md need
Docker: skipped, saying why, where no daemon answers (a failure under PROFILE_EXPAND_REQUIRE_LOCAL_INVOKE=1);
their answers are checked against what the page says they print, on this machine's architecture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench import sam_local

from tests.docs_blocks import Block, all_blocks
from tests.support import ROOT, shell_environment

pytestmark = pytest.mark.integration

RUN_BLOCKS = [block for block in all_blocks() if block.kind == "run"]
GETTING_STARTED = ROOT / "docs" / "getting-started.md"


def needs_docker(block: Block) -> bool:
    return "make invoke-" in block.text


def work_tree_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def run(block: Block) -> subprocess.CompletedProcess[str]:
    if needs_docker(block):
        why = sam_local.docker_unavailable()
        if why and os.environ.get(sam_local.REQUIRED_VARIABLE) == "1":
            pytest.fail(f"{block.page}:{block.line} needs Docker ({sam_local.REQUIRED_VARIABLE}=1): {why}")
        if why:
            pytest.skip(f"{block.page}:{block.line} needs Docker: {why}")
    env = shell_environment(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    before = work_tree_state()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (
        f"{block.page}:{block.line} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    assert work_tree_state() == before, f"{block.page}:{block.line} changed the work tree"
    return done


def answer(stdout: str) -> Any:
    """The function's answer: the JSON document the invoke target prints last."""
    return json.loads(stdout[stdout.index("{") :])


def recipe(needle: str) -> Block:
    (block,) = [
        block for block in RUN_BLOCKS if block.page == "docs/getting-started.md" and needle in block.text
    ]
    return block


@pytest.mark.parametrize(
    "block", [b for b in RUN_BLOCKS if not needs_docker(b)], ids=lambda b: f"{b.page}:{b.line}"
)
def test_run_block_works_as_written(block: Block) -> None:
    run(block)


def test_try_it_locally_macro_recipe() -> None:
    done = run(recipe("make invoke-macro"))
    response = answer(done.stdout)
    assert response["status"] == "success", response.get("errorMessage")
    generated = {
        logical_id: resource["Type"] for logical_id, resource in response["fragment"]["Resources"].items()
    }
    assert "AWS::IAM::InstanceProfile" in generated.values()
    # On this machine's architecture, as the page says (uname -m).
    assert f"template-{sam_local.host_architecture()}.json" in done.stderr
    assert "REPORT RequestId:" in done.stderr
    page = GETTING_STARTED.read_text(encoding="utf-8")
    assert "`status`" in page and "`fragment`" in page and "REPORT" in page


def test_guard_on_your_own_event_recipe() -> None:
    done = run(recipe("make invoke-guard"))
    response = answer(done.stdout)
    page = GETTING_STARTED.read_text(encoding="utf-8")
    # What the page says this recipe answers.
    for said in (f'"hookStatus": "{response["hookStatus"]}"', f'"errorCode": "{response["errorCode"]}"'):
        assert said in page, f"the page does not say {said}"
    assert response["hookStatus"] == "FAILED" and response["errorCode"] == "NonCompliant"
    assert "[E9006]" in response["message"] and "E9006" in page
    assert f"template-{sam_local.host_architecture()}.json" in done.stderr
    assert "IAM at http://" in done.stderr


def test_every_docker_recipe_has_its_test() -> None:
    docker = [block for block in RUN_BLOCKS if needs_docker(block)]
    assert docker == [recipe("make invoke-macro"), recipe("make invoke-guard")]
