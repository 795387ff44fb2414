"""E9001: a role where an instance profile is expected, the mistake that fails at deploy time."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class RoleWhereProfileExpected(_support.Rule):
    """A profile property holds an IAM role: deploys fail with "Invalid IAM Instance Profile name"."""

    id = "E9001"
    shortdesc = "IAM role where an instance profile is expected"
    description = (
        "EC2 and the services that launch instances for you take an instance profile, not a role. "
        "A Ref or GetAtt Arn of an AWS::IAM::Role, a role ARN, or an Fn::Sub / Fn::Join that builds one "
        "in a profile property fails at deploy time with 'Invalid IAM Instance Profile name'. "
        "Write the IamRole shorthand with Transform: ProfileExpand, or an AWS::IAM::InstanceProfile. "
        "Under the transform, the values the macro rewrites itself are reported by W9002 instead."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: !Ref AppRole  # an AWS::IAM::Role"
    example_right = "IamRole: !Ref AppRole  # with Transform: ProfileExpand"
