"""With SAM in the chain, `expand` prints the same bytes under any PYTHONHASHSEED (issue 16 item 19).

Separate processes: the hash seed is fixed when an interpreter starts. SAM's AlwaysDeploy (a new
deployment ID on every translation, by design) is the one documented exception.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
SHARED_PLAN = ROOT / "tests" / "fixtures" / "lint" / "sam" / "shared_usage_plan_conditions.yaml"


def expand_with_seed(seed: int) -> str:
    done = subprocess.run(
        [str(BIN / "profile-expand"), "expand", str(SHARED_PLAN), "--format", "json"],
        env={**os.environ, "PYTHONHASHSEED": str(seed)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sam_combined_conditions_come_out_the_same_under_any_hash_seed() -> None:
    outputs = {expand_with_seed(seed) for seed in (1, 2, 3, 4, 5)}
    assert len(outputs) == 1
    (output,) = outputs
    # SAM's Fn::Or of the three APIs' conditions, in name order.
    assert '"Condition": "Amber"\n        },\n        {\n          "Condition": "Blue"' in output
