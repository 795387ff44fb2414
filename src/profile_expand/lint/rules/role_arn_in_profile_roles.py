"""E9005: role ARN in an instance profile's Roles."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class RoleArnInProfileRoles(_support.Rule):
    """Role ARN in an instance profile's Roles: the model's E9005 findings."""

    id = "E9005"
    shortdesc = "Role ARN in an instance profile's Roles"
    description = (
        "AWS::IAM::InstanceProfile Roles takes role names. !GetAtt Role.Arn, a literal role ARN or an "
        "Fn::Sub / Fn::Join building one fails IAM's RoleName pattern at deploy time. Under Transform: "
        "ProfileExpand the macro writes !Ref Role itself for a role of the template (W9002). (Two roles "
        "in one profile are cfn-lint's own E3032.)"
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "Roles: [!GetAtt AppRole.Arn]"
    example_right = "Roles: [!Ref AppRole]"
