"""AWS CDK's synthesized integration-test templates (all of them deploy), when .cdk-corpus is built
(`make cdk-corpus`, from docs/cdk-corpus-sources.json): expand changes and fails none, lint adds no
error-level finding, the guard's STACK target answers SUCCESS, and every profile migrate converts has a
shorthand twin that expands back to the original. Skipped when the folder is absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from profile_expand.cli.migrate import apply, plan
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.migrate_depends import moved_from
from profile_expand.core.errors import ERROR
from profile_expand.core.pipeline import analyse, expand
from profile_expand.guard import hook as guard
from tests.functional.test_guard import CountingIam, _payload, _stack_event
from tests.integration.test_lint_rules import lint_as_users_do

CDK_CORPUS = Path(__file__).resolve().parents[2] / ".cdk-corpus"
TEMPLATES = sorted(CDK_CORPUS.glob("*.json")) if CDK_CORPUS.is_dir() else []

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not TEMPLATES, reason="no .cdk-corpus: run `make cdk-corpus`"),
]


def _load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_expand_changes_nothing(path: Path) -> None:
    template = _load(path)
    assert expand(template) == template


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_lint_reports_no_error(path: Path) -> None:
    findings = analyse(_load(path), transform_declared=False).findings
    assert [f for f in findings if f.severity == ERROR] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_with_our_rules_adds_no_error(path: Path) -> None:
    """cfn-lint as users run it, our rules appended: none of ours is an error (cfn-lint's own may be)."""
    ours = [m for m in lint_as_users_do(path) if m.rule.id.startswith("E9")]
    assert [f"{m.rule.id}:{m.linenumber} {m.message}" for m in ours] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_guard_lets_the_stack_through(path: Path) -> None:
    verdict = guard.evaluate(_stack_event(), CountingIam(), _payload(path.read_text(encoding="utf-8")))
    assert verdict.response["hookStatus"] == "SUCCESS", verdict.response.get("message")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_converted_profiles_twin_expands_back(path: Path) -> None:
    template = _load(path)
    for conversion in plan(template).conversions:
        # A DependsOn of the profile's own that migrate moved onto its users is the one difference allowed.
        twin = expand(apply(template, (conversion,)))
        assert differences(template, twin, moved_from((conversion,))) == [], conversion.profile
