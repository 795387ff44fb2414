"""E9003: instance profile ARN where its name is expected."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ProfileArnWhereNameExpected(_support.Rule):
    """Instance profile ARN where its name is expected: the model's E9003 findings."""

    id = "E9003"
    shortdesc = "Instance profile ARN where its name is expected"
    description = (
        "A property that takes an instance profile name (AWS::EC2::Instance IamInstanceProfile, EMR "
        "JobFlowRole, Image Builder InstanceProfileName, RDS CustomIAMInstanceProfile, a launch "
        "template's IamInstanceProfile.Name) holds a profile ARN: !GetAtt AppProfile.Arn, a literal "
        "arn:...:instance-profile/..., or an Fn::Sub / Fn::Join building one. EC2 answers 'Value "
        "(arn:...) for parameter iamInstanceProfile.name is invalid'. Under Transform: ProfileExpand the "
        "macro writes the name itself when it is certain (W9002)."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: !GetAtt AppProfile.Arn"
    example_right = "IamInstanceProfile: !Ref AppProfile"
