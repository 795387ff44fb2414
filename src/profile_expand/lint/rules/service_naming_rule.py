"""E9008: hand-written instance profile breaks a service's naming rule."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ServiceNamingRule(_support.Rule):
    """Hand-written instance profile breaks a service's naming rule: the model's E9008 findings."""

    id = "E9008"
    shortdesc = "Hand-written instance profile breaks a service's naming rule"
    description = (
        "A service checks the names: RDS Custom takes only instance profiles named AWSRDSCustom*, and "
        "roles named AWSRDSCustom*; AWS PCS takes roles named AWSPCS* or under the path /aws-pcs/; ECS "
        "managed instances (with the AWS managed infrastructure policy) pass only roles named "
        "ecsInstanceRole*. A literal name of a hand-written profile or of its role that breaks the rule "
        "fails the deploy."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "InstanceProfileName: db-profile  # used by RDS Custom"
    example_right = "InstanceProfileName: AWSRDSCustom-db-profile"
