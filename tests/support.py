"""Helpers shared by the test tiers: loading templates the way CloudFormation reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

TESTS = Path(__file__).parent
ROOT = TESTS.parent
GOLDEN = TESTS / "golden"
GOLDEN_INPUT = GOLDEN / "input"
GOLDEN_OUTPUT = GOLDEN / "output"
CORPUS = ROOT.parent / "shared" / "corpus"


def load_template(path: Path) -> Any:
    """YAML (short-form tags) or JSON -> plain dicts and lists, as the macro receives the fragment."""
    decoded, matches = decode_str(path.read_text())
    if matches:
        raise ValueError(f"{path}: {[str(match) for match in matches]}")
    return json.loads(json.dumps(decoded))


def golden_cases() -> list[str]:
    return sorted(path.stem for path in GOLDEN_INPUT.glob("*.yaml"))


def dump_json(value: Any) -> str:
    """The one JSON layout used for golden files."""
    return json.dumps(value, indent=2) + "\n"
