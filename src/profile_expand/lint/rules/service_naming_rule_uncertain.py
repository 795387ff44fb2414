"""W9003: hand-written instance profile may break a service's naming rule."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ServiceNamingRuleUncertain(_support.Rule):
    """Hand-written instance profile may break a service's naming rule: the model's W9003 findings."""

    id = "W9003"
    shortdesc = "Hand-written instance profile may break a service's naming rule"
    description = (
        "As E9008, where the name is not written: a profile without InstanceProfileName (or a role "
        "without RoleName) gets a name CloudFormation generates from the stack name, which meets the "
        "service's prefix only if the stack name happens to."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "instance-profile", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "an RDS Custom profile without InstanceProfileName"
    example_right = "InstanceProfileName: !Sub 'AWSRDSCustom-${AWS::StackName}'"
