"""cfn-lint rules for the IamRole shorthand and the role-where-a-profile-belongs mistake.

Load them with `cfn-lint --append-rules profile_expand.lint_rules` (this module) or with the path of
this directory; each rule lives in its own file, as cfn-lint's directory loader expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from profile_expand.lint_rules.expansion_warning import ExpansionWarning
from profile_expand.lint_rules.invalid_shorthand import InvalidShorthand
from profile_expand.lint_rules.role_where_profile_expected import RoleWhereProfileExpected
from profile_expand.lint_rules.shorthand_without_transform import ShorthandWithoutTransform

# The directory to give `cfn-lint --append-rules` (or `append_rules:` in a .cfnlintrc).
RULES_DIR: Final = Path(__file__).resolve().parent

__all__ = [
    "RULES_DIR",
    "ExpansionWarning",
    "InvalidShorthand",
    "RoleWhereProfileExpected",
    "ShorthandWithoutTransform",
]
