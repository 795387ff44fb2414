"""E9002: IamRole shorthand that the ProfileExpand macro would reject, in the macro's own words."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand.errors import InvalidTemplateError
from profile_expand.lint_rules import _sites


class InvalidShorthand(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
    """Runs the macro's core on templates with Transform: ProfileExpand and reports what it rejects."""

    id = "E9002"
    shortdesc = "IamRole shorthand the ProfileExpand transform rejects"
    description = (
        "For a template with Transform: ProfileExpand, runs the same expansion as the macro and reports "
        "every problem that would make the deployment fail (an IamRole that names no role, IamRole beside "
        "the profile property, a generated logical ID that is taken, ...), with the macro's message."
    )
    source_url = _sites.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)

    def match(self, template: Template) -> list[RuleMatch]:
        if not _sites.has_transform(template):
            return []
        result = _sites.expansion(template)
        if not isinstance(result, InvalidTemplateError):
            return []
        return [
            RuleMatch(_sites.match_path(error.logical_id, error.path), str(error)) for error in result.errors
        ]
