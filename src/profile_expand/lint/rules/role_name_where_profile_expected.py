"""E9006: a role's literal name where an instance profile is expected."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class RoleNameWhereProfileExpected(_support.Rule):
    """A role's literal name where an instance profile is expected: the model's E9006 findings."""

    id = "E9006"
    shortdesc = "A role's literal name where an instance profile is expected"
    description = (
        "A profile property holds a literal name that is the RoleName of an AWS::IAM::Role of the "
        "template, and no AWS::IAM::InstanceProfile of the template has that name: deploys fail with "
        "'Invalid IAM Instance Profile name'. Use IamRole with Transform: ProfileExpand, or a profile "
        "holding the role."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: my-app-role  # RoleName of AppRole"
    example_right = "IamInstanceProfile: !Ref AppProfile"
