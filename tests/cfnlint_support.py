"""Running cfn-lint on a template in the region(s) where its resource types exist."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from cfnlint.api import ManualArgs, lint


@cache
def _types_by_region() -> dict[str, frozenset[str]]:
    providers = resources.files("cfnlint.data.schemas.providers")
    return {
        entry.name.removesuffix(".json"): frozenset(json.loads(entry.read_text()))
        for entry in providers.iterdir()
        if entry.name.endswith(".json")
    }


def region_for(template: dict[str, Any]) -> str:
    """us-east-1 when it knows every type; otherwise the first region that does (OpsWorks lives on there)."""
    wanted = {r.get("Type") for r in template.get("Resources", {}).values() if isinstance(r, dict)}
    regions = _types_by_region()
    if wanted <= regions["us-east-1"]:
        return "us-east-1"
    for region in sorted(regions):
        if wanted <= regions[region]:
            return region
    return "us-east-1"


def lint_errors(template: dict[str, Any]) -> list[str]:
    """cfn-lint's error-level findings (E rules) for a template, as readable strings."""
    config = ManualArgs(regions=[region_for(template)])
    matches = lint(json.dumps(template, indent=1), config=config)
    return [
        f"{m.rule.id} {'/'.join(map(str, m.path or []))}: {m.message}"
        for m in matches
        if m.rule.id.startswith("E")
    ]
