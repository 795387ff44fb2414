"""E9007: role EC2 cannot assume, in an instance profile an instance uses."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class RoleEc2CannotAssume(_support.Rule):
    """Role EC2 cannot assume, in an instance profile an instance uses: the model's E9007 findings."""

    id = "E9007"
    shortdesc = "Role EC2 cannot assume, in an instance profile an instance uses"
    description = (
        "The role inside an instance profile used at a site (or named by IamRole) has a trust policy "
        "without an Allow of sts:AssumeRole to the EC2 service principal (ec2.amazonaws.com, "
        "ec2.${AWS::URLSuffix}). The deploy succeeds and the instance gets no credentials. Trust policies "
        "built with intrinsics that leave the answer open are not reported."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "ec2", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "Principal: {Service: lambda.amazonaws.com}"
    example_right = "Principal: {Service: !Sub 'ec2.${AWS::URLSuffix}'}"
