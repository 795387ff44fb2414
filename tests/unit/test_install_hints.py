"""What a missing optional package's message says: the package that is missing, and how to install it
from a checkout (ProfileExpand is not on PyPI)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from profile_expand.core.errors import EXTRAS, missing_extra

ROOT = Path(__file__).resolve().parents[2]


def test_the_extras_named_are_pyprojects() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra, packages in EXTRAS.items():
        names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in declared[extra]}
        assert set(packages) == names, extra


@pytest.mark.parametrize(
    ("module", "extra", "named"),
    [
        ("samtranslator", "sam", "aws-sam-translator"),
        ("samtranslator.translator.translator", "rollout", "aws-sam-translator"),
        ("boto3", "rollout", "boto3"),
        ("botocore.session", "sam", "boto3"),
        ("boto3", "iam", "boto3"),
    ],
)
def test_the_hint_names_the_missing_package_and_installs_from_the_checkout(
    module: str, extra: str, named: str
) -> None:
    hint = missing_extra(ModuleNotFoundError(f"No module named {module!r}", name=module), extra)
    assert hint.startswith(f"{named}, which is not installed: ")
    assert f"pip install -e '.[{extra}]'" in hint and f".venv/bin/pip install -e '.[{extra}]'" in hint
    assert f"pip install {' '.join(EXTRAS[extra])}" in hint
    assert "profile-expand[" not in hint
