"""cfn-lint rules for the IamRole shorthand and the instance-profile mistakes (E9001-E9008, W9001-W9004).

Load them with `cfn-lint --append-rules profile_expand.lint.rules` (this module) or with the path of
this directory; each rule lives in its own file, as cfn-lint's directory loader expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from profile_expand.lint.rules import _support
from profile_expand.lint.rules.expansion_warning import ExpansionWarning
from profile_expand.lint.rules.invalid_shorthand import InvalidShorthand
from profile_expand.lint.rules.profile_arn_where_name_expected import ProfileArnWhereNameExpected
from profile_expand.lint.rules.profile_name_where_arn_expected import ProfileNameWhereArnExpected
from profile_expand.lint.rules.profile_not_ordered import ProfileNotOrdered
from profile_expand.lint.rules.role_arn_in_profile_roles import RoleArnInProfileRoles
from profile_expand.lint.rules.role_ec2_cannot_assume import RoleEc2CannotAssume
from profile_expand.lint.rules.role_name_where_profile_expected import RoleNameWhereProfileExpected
from profile_expand.lint.rules.role_where_profile_expected import RoleWhereProfileExpected
from profile_expand.lint.rules.service_naming_rule import ServiceNamingRule
from profile_expand.lint.rules.service_naming_rule_uncertain import ServiceNamingRuleUncertain
from profile_expand.lint.rules.shorthand_without_transform import ShorthandWithoutTransform

# The rule setting naming the macro as deployed: `--configure-rule <ID>:macro_name=<MacroName>`.
MACRO_NAME_SETTING: Final = _support.MACRO_NAME

# The directory to give `cfn-lint --append-rules` (or `append_rules:` in a .cfnlintrc).
RULES_DIR: Final = Path(__file__).resolve().parent

# Every rule, by ID: the README's table of rules is generated from their metadata.
RULES: Final[tuple[type[Any], ...]] = tuple(
    sorted(
        (
            ExpansionWarning,
            InvalidShorthand,
            ProfileArnWhereNameExpected,
            ProfileNameWhereArnExpected,
            ProfileNotOrdered,
            RoleArnInProfileRoles,
            RoleEc2CannotAssume,
            RoleNameWhereProfileExpected,
            RoleWhereProfileExpected,
            ServiceNamingRule,
            ServiceNamingRuleUncertain,
            ShorthandWithoutTransform,
        ),
        key=lambda rule: (rule.id[0] != "E", rule.id),
    )
)

__all__ = [
    "MACRO_NAME_SETTING",
    "RULES",
    "RULES_DIR",
    "ExpansionWarning",
    "InvalidShorthand",
    "ProfileArnWhereNameExpected",
    "ProfileNameWhereArnExpected",
    "ProfileNotOrdered",
    "RoleArnInProfileRoles",
    "RoleEc2CannotAssume",
    "RoleNameWhereProfileExpected",
    "RoleWhereProfileExpected",
    "ServiceNamingRule",
    "ServiceNamingRuleUncertain",
    "ShorthandWithoutTransform",
    "rules_markdown",
]


def rules_markdown() -> str:
    """The README's table of rules, generated from each rule's metadata (a test keeps the README in step)."""
    rows = ["| Rule | Reports | Wrong | Right |", "|---|---|---|---|"]
    for rule in RULES:
        cells = [f"**{rule.id}**", rule.shortdesc, f"`{rule.example_wrong}`", f"`{rule.example_right}`"]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"
