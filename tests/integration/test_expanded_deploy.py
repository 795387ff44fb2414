"""Where macros cannot run (service-managed StackSets, Service Catalog): deploy `profile-expand expand`'s output.

The expanded template has no Transform left, so CloudFormation (here moto's) needs no macro, and every
site ends up holding the generated instance profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from profile_expand.cli.main import main
from tests.support import ROOT

pytestmark = pytest.mark.integration

REGION = "us-east-1"
EXAMPLE = ROOT / "examples" / "web-app.yaml"


def test_expanded_example_deploys_without_any_transform(aws: None, tmp_path: Path) -> None:
    expanded = tmp_path / "web-app.expanded.json"
    assert main(["expand", str(EXAMPLE), "--format", "json", "--no-transform", "-o", str(expanded)]) == 0
    template = json.loads(expanded.read_text())
    assert "Transform" not in template
    # Without --no-transform the output is the macro's fragment, byte for byte, Transform and all.
    macro_output = tmp_path / "fragment.json"
    assert main(["expand", str(EXAMPLE), "--format", "json", "-o", str(macro_output)]) == 0
    assert json.loads(macro_output.read_text())["Transform"] == "ProfileExpand"
    assert {k: v for k, v in json.loads(macro_output.read_text()).items() if k != "Transform"} == template
    assert '"IamRole"' not in json.dumps(template["Resources"])

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in range(2)
    ]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    # The example's ImageId default is an SSM public parameter: give moto one to resolve.
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    boto3.client("ssm", region_name=REGION).put_parameter(Name="/example/ami", Value=image, Type="String")

    # moto's Batch needs ComputeEnvironment.ServiceRole, which AWS makes optional (it then uses its
    # service-linked role): add one for moto only. Nothing else of the expanded template is changed.
    service_role = boto3.client("iam").create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")
    deployed = json.loads(expanded.read_text())
    deployed["Resources"]["ReportsComputeEnvironment"]["Properties"]["ServiceRole"] = service_role["Role"][
        "Arn"
    ]

    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName="web-app",
        TemplateBody=json.dumps(deployed),
        Parameters=[
            {"ParameterKey": "ImageId", "ParameterValue": "/example/ami"},
            {"ParameterKey": "SubnetIds", "ParameterValue": ",".join(subnets)},
            {"ParameterKey": "SecurityGroupId", "ParameterValue": group},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName="web-app")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName="web-app")["StackResourceSummaries"]
    }
    iam = boto3.client("iam")
    profiles = {"WebRoleInstanceProfile": "WebRole", "BatchInstanceRoleInstanceProfile": "BatchInstanceRole"}
    for profile, role in profiles.items():
        roles = iam.get_instance_profile(InstanceProfileName=physical[profile])["InstanceProfile"]["Roles"]
        assert [r["RoleName"] for r in roles] == [physical[role]]
    (reservation,) = ec2.describe_instances(InstanceIds=[physical["WebServer"]])["Reservations"]
    (instance,) = reservation["Instances"]
    assert instance["IamInstanceProfile"]["Arn"].endswith(f"/{physical['WebRoleInstanceProfile']}")
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=physical["WebLaunchTemplate"])
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["IamInstanceProfile"]["Arn"].endswith(f"/{physical['WebRoleInstanceProfile']}")
