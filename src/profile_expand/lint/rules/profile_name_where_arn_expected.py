"""E9004: instance profile name where its ARN is expected."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ProfileNameWhereArnExpected(_support.Rule):
    """Instance profile name where its ARN is expected: the model's E9004 findings."""

    id = "E9004"
    shortdesc = "Instance profile name where its ARN is expected"
    description = (
        "A property that takes an instance profile ARN ({Arn: ...} of a launch template, EC2 Fleet, Spot "
        "Fleet or WorkSpaces instance; ECS and Batch managed instances' Ec2InstanceProfileArn; PCS "
        "IamInstanceProfileArn; OpsWorks) holds a profile name: !Ref Profile or a literal name. It is "
        "rejected as an invalid ARN, at create or when the first instance launches. Under Transform: "
        "ProfileExpand the macro writes !GetAtt AppProfile.Arn itself for a profile of the template (W9002)."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: {Arn: !Ref AppProfile}"
    example_right = "IamInstanceProfile: {Arn: !GetAtt AppProfile.Arn}"
