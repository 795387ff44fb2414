"""What the ProfileExpand cfn-lint rules share: their base class, the core's model of the template, match paths.

A private module (cfn-lint's directory loader skips files starting with "_"): rule files import it as a
module, never its names, so that loading a rule file never registers a rule twice. Rules know nothing
of sites or roles: each reports the model's findings of its own code.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, Final

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand import cfn
from profile_expand.core import analyse
from profile_expand.model import Model

# The rules' source_url: the README section that documents them.
SOURCE_URL: Final = "https://github.com/profile-expand/profile-expand#lint-rules"

# The rule setting that names the macro as deployed (template.yaml's MacroName parameter), e.g.
# `cfn-lint --configure-rule E9001:macro_name=TeamProfileExpand` (one per rule ID, as cfn-lint configures),
# or `configure_rules` in a .cfnlintrc (`profile-expand cfnlintrc --macro-name` writes it for every rule).
MACRO_NAME: Final = "macro_name"

# One analysis per template and macro name, however many rules read it.
_MODELS: weakref.WeakKeyDictionary[Template, dict[str, Model]] = weakref.WeakKeyDictionary()


class Rule(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
    """A ProfileExpand rule: reports the model's findings of its own code (its id).

    Rule files subclass this as `_support.Rule`; cfn-lint instantiates only classes named in a rule file,
    and a class without an id is never registered, so this base is not a rule itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {MACRO_NAME: {"default": cfn.TRANSFORM_NAME, "type": "string"}}
        self.configure()

    def match(self, template: Template) -> list[RuleMatch]:
        return matches(template, self.id, str(self.config.get(MACRO_NAME) or cfn.TRANSFORM_NAME))


def has_transform(template: Template, macro_name: str = cfn.TRANSFORM_NAME) -> bool:
    """The template's Transform lists the macro (as written, before cfn-lint's own transforms)."""
    declared = template.transform_pre.get(cfn.TRANSFORM, [])
    return any(isinstance(name, str) and name == macro_name for name in declared)


def model(template: Template, macro_name: str = cfn.TRANSFORM_NAME) -> Model:
    """The core's account of the template, as the macro would see it.

    cfn-lint does not know the ProfileExpand transform and leaves the template as written (after the
    transforms it does apply, such as AWS::LanguageExtensions), which is what the macro receives.
    """
    models = _MODELS.setdefault(template, {})
    if macro_name not in models:
        models[macro_name] = analyse(
            plain(template.template),
            transform_declared=has_transform(template, macro_name),
            macro_name=macro_name,
        )
    return models[macro_name]


def matches(template: Template, code: str, macro_name: str = cfn.TRANSFORM_NAME) -> list[RuleMatch]:
    """The model's findings of one code, as cfn-lint matches."""
    return [
        RuleMatch(match_path(finding.logical_id, finding.path), finding.lint_text())
        for finding in model(template, macro_name).with_code(code)
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
