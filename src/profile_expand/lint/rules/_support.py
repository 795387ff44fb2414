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

from profile_expand.core import cfn
from profile_expand.core.errors import ERROR, MACRO_ERROR, Finding
from profile_expand.core.model import Model
from profile_expand.core.pipeline import analyse, has_site_types, unexpanded_loops
from profile_expand.lint.override_spec import SHIPPED_FILE

# The rules' source_url: the README section that documents them.
SOURCE_URL: Final = "https://github.com/profile-expand/profile-expand#lint-rules"

# The rule setting that names the macro as deployed (template.yaml's MacroName parameter), e.g.
# `cfn-lint --configure-rule E9001:macro_name=TeamProfileExpand` (one per rule ID, as cfn-lint configures),
# or `configure_rules` in a .cfnlintrc (`profile-expand cfnlintrc --macro-name` writes it for every rule).
MACRO_NAME: Final = "macro_name"

# A site type whose schema the override spec patches: the sign that it has been applied in a region.
_WITNESS_TYPE: Final = "AWS::EC2::Instance"

# Where cfn-lint keeps the loops as written, before its own AWS::LanguageExtensions transform.
_FOR_EACH: Final = "Fn::ForEach"

# The resource types only SAM knows: what SAM generates is named after one of them.
_SAM_TYPES: Final = "AWS::Serverless::"

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

    def initialize(self, cfn: Template) -> None:
        # Before any rule checks this template: its schemas must know IamRole, with or without the
        # override spec (a committed .cfnlintrc then needs no path into one machine's venv).
        teach_schemas(cfn.regions)

    def match(self, template: Template) -> list[RuleMatch]:
        return matches(template, self.id, str(self.config.get(MACRO_NAME) or cfn.TRANSFORM_NAME))


def teach_schemas(regions: list[str]) -> None:
    """Apply the shipped override spec to cfn-lint's schemas for these regions, unless already applied.

    Cheap when done: one cached schema look-up per region. cfn-lint applies its own --override-spec
    before any rule runs; applying ours again where the user also names it changes nothing.
    """
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, patch  # type: ignore[import-untyped]
    from cfnlint.schema._exceptions import ResourceNotFoundError  # type: ignore[import-untyped]

    untaught = []
    for region in regions:
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, _WITNESS_TYPE)
        except ResourceNotFoundError:
            continue
        if cfn.IAM_ROLE_SHORTHAND not in schema.schema.get("properties", {}):
            untaught.append(region)
    if untaught:
        patch(str(SHIPPED_FILE), untaught)


def has_transform(template: Template, macro_name: str = cfn.TRANSFORM_NAME) -> bool:
    """The template's Transform lists the macro (as written, before cfn-lint's own transforms)."""
    declared = template.transform_pre.get(cfn.TRANSFORM, [])
    return any(isinstance(name, str) and name == macro_name for name in declared)


def model(template: Template, macro_name: str = cfn.TRANSFORM_NAME) -> Model:
    """The core's account of the template, as the macro would see it.

    cfn-lint does not know the ProfileExpand transform and leaves the template as written (after the
    transforms it does apply, such as AWS::LanguageExtensions), which is what the macro receives. It no
    longer translates SAM: when AWS::Serverless-2016-10-31 comes before the macro, SAM's translation (no
    AWS call) is what the macro is given, so roles SAM generates are roles here too.
    """
    models = _MODELS.setdefault(template, {})
    if macro_name not in models:
        models[macro_name] = _analyse(template, macro_name)
    return models[macro_name]


def _analyse(template: Template, macro_name: str) -> Model:
    declared = has_transform(template, macro_name)
    if declared and _before_macro(template, macro_name, cfn.LANGUAGE_EXTENSIONS) is False:
        # cfn-lint ran the loops whatever the order; the macro, listed first, sees them as written.
        loops = {
            str(entry[1]): plain(entry[2])
            for entry in template.transform_pre.get(_FOR_EACH, [])
            if len(entry) == 3 and entry[0] == cfn.RESOURCES
        }
        unexpanded = unexpanded_loops(loops, macro_name)
        if unexpanded:
            return Model((), unexpanded, None)
    view = plain(template.template)
    # SAM passes site types and instance profiles through and never makes one: without any, its
    # translation cannot change what the rules find, and is skipped (it costs more than linting).
    if declared and _before_macro(template, macro_name, cfn.SERVERLESS) and has_site_types(view):
        # The chain needs aws-sam-translator, which cfn-lint itself no longer does; imported only here.
        from profile_expand.core.errors import ChainError
        from profile_expand.lint.chain import DEFAULT_REGION, translate_serverless

        try:
            region = template.regions[0] if template.regions else DEFAULT_REGION
            view, _notes = translate_serverless(view, region)
        except ChainError as error:
            # No translation, so no macro run to judge: SAM's reasons (or its absence) are the errors.
            findings = tuple(
                Finding(
                    MACRO_ERROR,
                    ERROR,
                    _logical_id(problem.path),
                    (),
                    f"{cfn.SERVERLESS}: {problem.message}",
                )
                for problem in error.problems
            )
            return Model((), findings, None)
    return analyse(view, transform_declared=declared, macro_name=macro_name)


def _before_macro(template: Template, macro_name: str, transform: str) -> bool | None:
    """Whether the template lists `transform` before the macro (CloudFormation runs it first); None if not at all."""
    declared = [name for name in template.transform_pre.get(cfn.TRANSFORM, []) if isinstance(name, str)]
    if transform not in declared or macro_name not in declared:
        return None
    return declared.index(transform) < declared.index(macro_name)


def _logical_id(path: tuple[str | int, ...]) -> str:
    return str(path[1]) if len(path) > 1 and path[0] == cfn.RESOURCES else ""


def matches(template: Template, code: str, macro_name: str = cfn.TRANSFORM_NAME) -> list[RuleMatch]:
    """The model's findings of one code, as cfn-lint matches at the template's own resources."""
    resources = template.template.get(cfn.RESOURCES)
    resources = resources if isinstance(resources, Mapping) else {}
    found = []
    for finding in model(template, macro_name).with_code(code):
        logical_id = _written(finding.logical_id, resources)
        path = finding.path if logical_id == finding.logical_id else ()
        found.append(RuleMatch(match_path(logical_id, path), finding.lint_text()))
    return found


def _written(logical_id: str, resources: Mapping[str, Any]) -> str:
    """The template's resource a finding belongs to: itself, or the SAM resource that generated it.

    SAM names what it generates after the resource that asked for it (ApiRole for function Api).
    """
    if not logical_id or logical_id in resources:
        return logical_id
    makers = [
        name
        for name, resource in resources.items()
        if isinstance(name, str)
        and logical_id.startswith(name)
        and isinstance(resource, Mapping)
        and str(resource.get(cfn.TYPE, "")).startswith(_SAM_TYPES)
    ]
    return max(makers, key=len) if makers else ""


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
