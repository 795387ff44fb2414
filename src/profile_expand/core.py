"""The pure transform: expand(template) -> template. No AWS, no I/O, no globals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TemplateWarning:
    logical_id: str
    path: tuple[str | int, ...]
    message: str


@dataclass(frozen=True)
class Expansion:
    template: dict[str, Any]
    warnings: tuple[TemplateWarning, ...]
    profiles_created: tuple[str, ...]
    sites_rewritten: int


def expand_with_report(template: Mapping[str, Any]) -> Expansion:
    raise NotImplementedError("core in progress")


def expand(template: Mapping[str, Any]) -> dict[str, Any]:
    return expand_with_report(template).template
