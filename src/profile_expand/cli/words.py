"""The command line's shared help words: one noun for one thing in every subcommand's --help (TEMPLATE is a
CloudFormation template, FILE any other file, a profile is an instance profile unless it is AWS CLI's)."""

from __future__ import annotations

from typing import Final

from profile_expand.core import cfn

TEMPLATE: Final = "TEMPLATE"
FILE: Final = "FILE"
TEMPLATE_HELP: Final = "template file, or - for standard input"
OUTPUT_HELP: Final = "write here instead of standard output"
MACRO_NAME_HELP: Final = (
    f"the name the macro is deployed under (template.yaml's MacroName; default: {cfn.TRANSFORM_NAME})"
)
