"""W9001: IamRole shorthand in a template whose Transform does not list ProfileExpand."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand import cfn
from profile_expand.lint_rules import _sites
from profile_expand.sites import SiteKind


class ShorthandWithoutTransform(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
    """IamRole only means something to the ProfileExpand macro; without it CloudFormation rejects it."""

    id = "W9001"
    shortdesc = "IamRole shorthand without Transform: ProfileExpand"
    description = (
        "IamRole written where an instance profile is expected is the ProfileExpand shorthand. Without "
        "ProfileExpand in the template's Transform, CloudFormation receives IamRole as written and the "
        "deployment fails. Add the transform, or write the instance profile property."
    )
    source_url = _sites.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)

    def match(self, template: Template) -> list[RuleMatch]:
        if _sites.has_transform(template):
            return []
        matches: list[RuleMatch] = []
        for logical_id, resource, site in _sites.site_resources(template):
            for path in _sites.shorthand_paths(resource, site):
                where = (
                    f"option {cfn.IAM_ROLE_SHORTHAND}"
                    if site.kind is SiteKind.OPTION_SETTING
                    else cfn.IAM_ROLE_SHORTHAND
                )
                matches.append(
                    RuleMatch(
                        _sites.match_path(logical_id, path),
                        f"{where} is ProfileExpand shorthand, but the template's {cfn.TRANSFORM} does not list "
                        f"{cfn.TRANSFORM_NAME}, so CloudFormation will reject it. Add `{cfn.TRANSFORM}: "
                        f"{cfn.TRANSFORM_NAME}` (listed after AWS::LanguageExtensions and "
                        f"AWS::Serverless-2016-10-31 when the template uses them), or write "
                        f"{site.profile_property} with an instance profile.",
                    )
                )
        return matches
