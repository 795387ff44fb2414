"""A template's text as plain data: JSON, or YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt`).

For the guard, which reads templates from a hook's payload without cfn-lint (the CLI reads files with
yaml_io, which keeps positions). PyYAML is imported on first use: most hook invocations never need it;
libyaml parses when PyYAML's C extension is there (safe_loader).
"""

from __future__ import annotations

import json
from typing import Any

from profile_expand.core import cfn
from profile_expand.core.errors import TemplateSyntaxError

_UNTAGGED_FUNCTIONS = (cfn.REF, cfn.CONDITION)


def load_template(text: str) -> Any:
    """The template as dicts, lists and scalars; TemplateSyntaxError when it is neither JSON nor YAML.

    >>> load_template("Resources: {R: {Type: T, Properties: {A: !GetAtt Role.Arn, B: !Ref P}}}")
    {'Resources': {'R': {'Type': 'T', 'Properties': {'A': {'Fn::GetAtt': ['Role', 'Arn']}, 'B': {'Ref': 'P'}}}}}
    """
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise TemplateSyntaxError(error.lineno, error.colno, error.msg) from error
    import yaml

    class Loader(safe_loader()):  # type: ignore[misc]
        """SafeLoader, plus CloudFormation's short forms: `!Sub x` is {"Fn::Sub": x}, `!Ref X` is {"Ref": X}."""

    def short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {suffix if suffix in _UNTAGGED_FUNCTIONS else f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", short_form)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader: tags build plain mappings
    except yaml.YAMLError as error:
        raise yaml_syntax_error(error) from error


def safe_loader() -> type[Any]:
    """PyYAML's SafeLoader on libyaml (CSafeLoader: about 10 times faster on a large template) where its C
    extension loads, else the pure-Python one. The guard's arm64 bundle carries the extension; an x86_64
    stand-in of the Lambda image cannot load it, and there the pure parser gives the same data."""
    import yaml

    loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def yaml_syntax_error(error: Exception) -> TemplateSyntaxError:
    """A PyYAML error as a TemplateSyntaxError at its 1-based line and column (1, 1 when it has none)."""
    import yaml

    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return TemplateSyntaxError(line, column, error.problem or str(error))
    return TemplateSyntaxError(1, 1, str(error))
