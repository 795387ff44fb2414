"""E9001: a role where an instance profile is expected, the mistake that fails at deploy time."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]
from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand.lint_rules import _mistakes, _sites


class RoleWhereProfileExpected(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no py.typed
    """A profile property holds an IAM role: deploys fail with "Invalid IAM Instance Profile name"."""

    id = "E9001"
    shortdesc = "IAM role where an instance profile is expected"
    description = (
        "EC2 and the services that launch instances for you take an instance profile, not a role. "
        "A Ref or GetAtt Arn of an AWS::IAM::Role, a role ARN, or an Fn::Sub / Fn::Join that builds one "
        "in a profile property fails at deploy time with 'Invalid IAM Instance Profile name'. "
        "Write the IamRole shorthand with Transform: ProfileExpand, or an AWS::IAM::InstanceProfile."
    )
    source_url = _sites.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)

    def match(self, template: Template) -> list[RuleMatch]:
        roles = _mistakes.template_roles(template)
        corrected = _mistakes.corrected_by_macro(template)
        matches: list[RuleMatch] = []
        for logical_id, resource, site in _sites.site_resources(template):
            for path, value in _sites.profile_values(resource, site):
                for finding in _mistakes.findings(site, value, path, roles):
                    if any(finding.path[: len(done)] == done for done in corrected.get(logical_id, ())):
                        continue  # the macro rewrites this one itself, and W9002 says so in its words
                    where = _sites.match_path(logical_id, finding.path)
                    matches.append(RuleMatch(where, _mistakes.message(site, finding)))
        return matches
