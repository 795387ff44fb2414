"""bench/lint.py, run small: ProfileExpand added after SAM as a user adds it, and the lint targets."""

from __future__ import annotations

import json

import pytest
import yaml
from bench.lint import LintTiming, lint_section, with_macro_after_sam
from bench.targets import LINT_RATIO_TARGET, lint_targets

SAM = "AWS::Serverless-2016-10-31"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.mark.parametrize(
    "text",
    [
        f"Transform: {SAM}\nResources: {{}}\n",
        f"Transform: [{SAM}]\nResources: {{}}\n",
        f"Transform:\n  - {SAM}\nResources: {{}}\n",
        f"Transform:\n- {SAM}\nResources: {{}}\n",
        "Resources: {}\n",
        "---\nResources: {}\n",
    ],
)
def test_yaml_gets_the_macro_after_sam(text: str) -> None:
    changed = yaml.load(with_macro_after_sam(text, ".yaml"), Loader=_Loader)
    assert changed["Transform"] == [SAM, "ProfileExpand"]
    assert changed["Resources"] == {}


def test_json_gets_the_macro_after_sam() -> None:
    changed = json.loads(with_macro_after_sam(json.dumps({"Transform": SAM, "Resources": {}}), ".json"))
    assert changed["Transform"] == [SAM, "ProfileExpand"]


def test_a_row_over_the_target_is_a_missed_target_and_shows_in_the_section() -> None:
    fast = LintTiming("corpus", 40, "one call", 10.0, 10.2, 1.02, 1.01, 1.03)
    slow = LintTiming("corpus", 40, "one per process", 10.0, 12.0, 1.2, 1.1, 1.3)
    assert [t.met for t in lint_targets([fast, slow])] == [True, False]
    assert LINT_RATIO_TARGET == 1.05
    text = "\n".join(lint_section([fast, slow], 2, LINT_RATIO_TARGET))
    assert "| corpus (40) | one per process | 10.00 | 12.00 | 1.200x | 1.100 to 1.300 |" in text
