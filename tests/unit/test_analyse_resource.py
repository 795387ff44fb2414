"""analyse_resource (the guard's account of one resource) says what analyse() says of that resource in a
template of its own, without the transform: one judgement, two entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from profile_expand.core.pipeline import analyse, analyse_resource
from profile_expand.core.sites import sites_for
from tests.support import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "tests" / "fixtures" / "lint" / "templates").rglob("*.yaml")) + sorted(
    (ROOT / "tests" / "golden" / "input").glob("*.yaml")
)


def _sited(path: Path) -> list[tuple[str, dict[str, Any]]]:
    template = load_template(path)
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        return []
    return [
        (lid, r)
        for lid, r in resources.items()
        if isinstance(r, dict)
        and isinstance(r.get("Type"), str)
        and sites_for(r["Type"])
        and isinstance(r.get("Properties"), dict)
    ]


CASES = [(path, lid, resource) for path in TEMPLATES for lid, resource in _sited(path)]


@pytest.mark.parametrize(
    ("path", "logical_id", "resource"), CASES, ids=[f"{p.stem}:{lid}" for p, lid, _ in CASES]
)
def test_one_resource_alone_gets_the_findings_of_a_template_holding_only_it(
    path: Path, logical_id: str, resource: dict[str, Any]
) -> None:
    alone = analyse({"Resources": {logical_id: resource}}, transform_declared=False)
    model = analyse_resource(resource["Type"], logical_id, resource["Properties"])
    assert model.findings == alone.findings
    assert model.found == alone.found


def test_there_are_cases() -> None:
    assert len(CASES) > 30
