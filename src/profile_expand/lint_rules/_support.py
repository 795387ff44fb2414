"""What the ProfileExpand cfn-lint rules share: the core's model of the template, and match paths.

A private module (cfn-lint's directory loader skips files starting with "_"): rule files import it as a
module, never its names, so that loading a rule file never registers a rule twice. Rules know nothing
of sites or roles: each reports the model's findings of its own code.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, Final

from cfnlint.rules import RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand import cfn
from profile_expand.core import analyse
from profile_expand.model import Model

# The rules' source_url: the README section that documents them.
SOURCE_URL: Final = "https://github.com/profile-expand/profile-expand#lint-rules"

# One analysis per template, however many rules read it.
_MODELS: weakref.WeakKeyDictionary[Template, Model] = weakref.WeakKeyDictionary()


def has_transform(template: Template) -> bool:
    """The template's Transform lists ProfileExpand (as written, before cfn-lint's own transforms)."""
    declared = template.transform_pre.get(cfn.TRANSFORM, [])
    return any(isinstance(name, str) and name == cfn.TRANSFORM_NAME for name in declared)


def model(template: Template) -> Model:
    """The core's account of the template, as the macro would see it.

    cfn-lint does not know the ProfileExpand transform and leaves the template as written (after the
    transforms it does apply, such as AWS::LanguageExtensions), which is what the macro receives.
    """
    if template not in _MODELS:
        _MODELS[template] = analyse(plain(template.template), transform_declared=has_transform(template))
    return _MODELS[template]


def matches(template: Template, code: str) -> list[RuleMatch]:
    """The model's findings of one code, as cfn-lint matches."""
    return [
        RuleMatch(match_path(finding.logical_id, finding.path), finding.lint_text())
        for finding in model(template).with_code(code)
    ]


def plain(value: Any) -> Any:
    """A copy of a decoded template made of plain dict, list and str.

    cfn-lint's node types (which carry positions) would otherwise show in the macro's messages, which
    name a value's type when it is the wrong one.
    """
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def match_path(logical_id: str, path: tuple[str | int, ...]) -> list[str | int]:
    """A cfn-lint match path (from the template root) for a path below a resource.

    Problems of the whole template (no logical ID) point at its Transform, the macro's entry point.
    """
    if logical_id:
        return [cfn.RESOURCES, logical_id, *path]
    return [cfn.TRANSFORM, *path]
