"""--fix for Terraform: the certain mistakes rewritten in the module's own text (not written yet)."""

from __future__ import annotations

from collections.abc import Iterable


def fixes(paths: Iterable[str]) -> dict[str, str]:
    """Each file to rewrite -> its new text."""
    return {}
