"""W9004: a template's instance profile named at a site that nothing orders after it."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ProfileNotOrdered(_support.Rule):
    """A template profile named by its name where nothing orders the site after it: the model's W9004."""

    id = "W9004"
    shortdesc = "Instance profile named where nothing orders the resource after it"
    description = (
        "A profile property names an AWS::IAM::InstanceProfile of the template by its literal name (or "
        "ARN), or by Ref of the role it is named after, and the resource neither references the profile "
        "nor depends on it: CloudFormation may create the resource first, and it fails because the "
        "profile does not exist yet. Write !Ref of the profile (or add DependsOn)."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: !Ref InstanceRole  # InstanceProfileName: !Ref InstanceRole"
    example_right = "IamInstanceProfile: !Ref InstanceProfile"
