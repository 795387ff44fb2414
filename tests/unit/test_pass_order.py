"""Following one template through expand() enters each pass once, in order: collect, plan, check, render.

The passes are modules of their own (core/collect.py ... core/render.py); a pass that called back into an
earlier one, or a helper of one pass living in another, would show here as a pass entered twice.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import profile_expand
from profile_expand.cli.yaml_io import decode
from profile_expand.core.cfn import to_plain

ROOT = Path(__file__).resolve().parents[2]
PASSES = ("collect", "plan", "check", "render")
PACKAGE = "profile_expand.core."


def _pass_of(frame: FrameType | None) -> str | None:
    """The innermost pass module on the stack of a frame, if any."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith(PACKAGE) and module[len(PACKAGE) :] in PASSES:
            return module[len(PACKAGE) :]
        frame = frame.f_back
    return None


def passes_entered(template: Any) -> list[str]:
    """The passes in the order expand() runs under them, a stretch of calls in one pass counted once."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            current = _pass_of(frame)
            if current is not None:
                seen.append(current)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        profile_expand.expand(template)
    finally:
        sys.setprofile(previous)
    return [name for name, _ in itertools.groupby(seen)]


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "examples" / "web-app.yaml",
        *sorted((ROOT / "tests" / "golden" / "input").glob("conditions_*.yaml")),
    ],
    ids=lambda path: path.name,
)
def test_each_pass_is_entered_once_in_order(path: Path) -> None:
    template = to_plain(decode(path.read_text(encoding="utf-8"), str(path)).nodes)
    assert passes_entered(template) == list(PASSES)


def test_the_order_check_sees_a_pass_entered_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # The measure itself can fail: a plan that asked collect for something again shows as collect twice.
    import profile_expand.core.collect as collect_pass
    import profile_expand.core.plan as plan_pass

    real_make_plan = plan_pass.make_plan

    def make_plan_calling_back(*args: Any, **kwargs: Any) -> Any:
        plan = real_make_plan(*args, **kwargs)
        collect_pass.branch_terms({}, (), None)  # type: ignore[arg-type]
        return plan

    monkeypatch.setattr("profile_expand.core.pipeline.make_plan", make_plan_calling_back)
    template = to_plain(decode((ROOT / "examples" / "web-app.yaml").read_text(encoding="utf-8")).nodes)
    assert passes_entered(template) != list(PASSES)
