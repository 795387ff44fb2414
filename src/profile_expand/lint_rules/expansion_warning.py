"""W9002: what the ProfileExpand macro would warn about, such as a role it rewrites to a profile."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand.errors import InvalidTemplateError
from profile_expand.lint_rules import _sites


class ExpansionWarning(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
    """Runs the macro's core on templates with Transform: ProfileExpand and reports its warnings."""

    id = "W9002"
    shortdesc = "The ProfileExpand transform would warn"
    description = (
        "For a template with Transform: ProfileExpand, reports the warnings of the same expansion as the "
        "macro: a profile property pointing at a role of the template (the macro rewrites it as if it were "
        "IamRole; write IamRole to make this explicit), a role name the service will not accept, ..."
    )
    source_url = _sites.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)

    def match(self, template: Template) -> list[RuleMatch]:
        if not _sites.has_transform(template):
            return []
        result = _sites.expansion(template)
        if isinstance(result, InvalidTemplateError):
            return []  # E9002 reports the errors; the macro warns only about templates it can expand
        return [
            RuleMatch(_sites.match_path(warning.logical_id, warning.path), str(warning))
            for warning in result.warnings
        ]
