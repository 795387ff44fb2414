"""A migrated template, run through the Lambda handler, deploys on moto's CloudFormation as the original does:
the same resources, the launch template naming its profile by name as its author wrote, the launch
configuration by ARN, the profile with its Path and role, the Output naming it (issue 18).

What moto does not model: the order CloudFormation creates resources in (moto creates them in its own
order, whatever DependsOn says), so dependency order is proven by migrate's own comparison
(tests/unit/test_migrate.py), not here; and the instance a launch template would start.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from profile_expand.cli.migrate_source import migrate_text
from profile_expand.cli.yaml_io import decode
from tests.integration.test_moto_deploy import client, deploy, through_macro

pytestmark = pytest.mark.integration

ORIGINAL = """\
# Hand-written before ProfileExpand: a launch template naming its profile by name, a launch configuration
# by ARN, the profile waiting for its role and the instance for the profile (both implied by references).
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  WebProfile:
    Type: AWS::IAM::InstanceProfile
    DependsOn: AppRole  # implied by Roles
    Properties:
      Path: /web/
      Roles: [!Ref AppRole]
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-12c6146b
        IamInstanceProfile:
          Name: !Ref WebProfile  # by name: a new form would be a new version
  Launch:
    Type: AWS::AutoScaling::LaunchConfiguration
    DependsOn: [WebProfile]
    Properties:
      ImageId: ami-12c6146b
      InstanceType: t3.micro
      IamInstanceProfile: !GetAtt WebProfile.Arn  # by ARN
Outputs:
  Profile:
    Value: !Ref WebProfile
"""


def _stack(template: dict[str, Any], name: str) -> tuple[dict[str, str], dict[str, Any]]:
    physical = deploy(template, name)
    outputs = client("cloudformation").describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    return physical, {item["OutputKey"]: item["OutputValue"] for item in outputs}


def _profile_sites(physical: dict[str, str]) -> tuple[dict[str, Any], str]:
    versions = client("ec2").describe_launch_template_versions(LaunchTemplateId=physical["Template"])
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]["IamInstanceProfile"]
    configurations = client("autoscaling").describe_launch_configurations(
        LaunchConfigurationNames=[physical["Launch"]]
    )
    name: str = configurations["LaunchConfigurations"][0]["IamInstanceProfile"]
    return data, name


def test_the_migrated_template_deploys_as_the_original(aws: None) -> None:
    migration = migrate_text(ORIGINAL, keep_references=True)
    assert migration.mismatches == ()
    (conversion,) = migration.plan.conversions
    assert conversion.profile == "WebProfile" and conversion.dropped == ("Launch",)
    migrated = decode(migration.text).plain
    assert "WebProfile" not in migrated["Resources"]
    assert "DependsOn" not in migrated["Resources"]["Launch"]

    before, before_outputs = _stack(decode(ORIGINAL).plain, "original")
    after, after_outputs = _stack(through_macro("ec2_launch_template", migrated), "migrated")
    assert set(after) == set(before)
    for physical, outputs in ((before, before_outputs), (after, after_outputs)):
        profile = client("iam").get_instance_profile(InstanceProfileName=physical["WebProfile"])[
            "InstanceProfile"
        ]
        assert profile["Path"] == "/web/"
        assert [role["RoleName"] for role in profile["Roles"]] == [physical["AppRole"]]
        template_profile, configuration_profile = _profile_sites(physical)
        # The launch template names the profile by name, as its author wrote (not {Arn}).
        assert template_profile == {"Name": physical["WebProfile"]}, json.dumps(template_profile)
        assert configuration_profile == profile["Arn"]
        assert outputs == {"Profile": physical["WebProfile"]}
