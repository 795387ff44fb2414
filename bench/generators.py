"""Templates for the benchmark: any number of resources (every few a role and the sites using it), any size.

Deterministic: the same arguments always give the same template (events/large_500_resources.json is made
from it by scripts/make_events.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from profile_expand import expand

# CloudFormation's limits for a processed template: 500 resources, 1 MB (taken here as 1 MiB of compact JSON).
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_048_576
SIZES = (10, 100, 500)


# A group is a role and the three sites that use it (in three value forms), plus two unrelated resources;
# after expansion it is seven resources (the generated profile is the seventh).
GROUP_RESOURCES = 7


def _script(group: int, lines: int) -> dict[str, Any]:
    """UserData as templates carry it: a bootstrap script inside Fn::Base64/Fn::Sub."""
    body = [
        "#!/bin/bash -xe",
        "yum update -y aws-cfn-bootstrap",
        f"/opt/aws/bin/cfn-init -v --stack ${{AWS::StackName}} --resource Web{group} "
        "--region ${AWS::Region}",
    ]
    body += [
        f'echo "step {step}: configure component {step % 17} of group {group}" >> /var/log/bootstrap.log'
        for step in range(lines)
    ]
    body.append(
        f"/opt/aws/bin/cfn-signal -e $? --stack ${{AWS::StackName}} --resource Web{group} "
        "--region ${AWS::Region}"
    )
    return {"Fn::Base64": {"Fn::Sub": "\n".join(body) + "\n"}}


def _tags(group: int, kind: str) -> list[dict[str, Any]]:
    return [
        {"Key": "Name", "Value": {"Fn::Sub": f"${{AWS::StackName}}-{kind}-{group}"}},
        {"Key": "CostCenter", "Value": "platform-engineering"},
        {"Key": "Group", "Value": str(group)},
    ]


def _role(group: int, statements: int) -> dict[str, Any]:
    extra = [
        {
            "Sid": f"Component{group}x{number}",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt"],
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{Bucket{group}}}/component-{number}/*"},
                {"Fn::GetAtt": [f"Bucket{group}", "Arn"]},
            ],
        }
        for number in range(statements)
    ]
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["ec2.amazonaws.com"]},
                        "Action": ["sts:AssumeRole"],
                    }
                ],
            },
            "ManagedPolicyArns": [
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy"},
            ],
            "Policies": [
                {
                    "PolicyName": "bootstrap",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "cloudformation:DescribeStackResource",
                                    "cloudformation:SignalResource",
                                ],
                                "Resource": {"Ref": "AWS::StackId"},
                            },
                            *extra,
                        ],
                    },
                }
            ],
            "Tags": _tags(group, "role"),
        },
    }


def _instance(group: int, lines: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::Instance",
        "Metadata": {
            "AWS::CloudFormation::Init": {
                "config": {
                    "packages": {"yum": {"amazon-cloudwatch-agent": [], "jq": []}},
                    "services": {"sysvinit": {"amazon-cloudwatch-agent": {"enabled": "true"}}},
                }
            }
        },
        "Properties": {
            "ImageId": {"Ref": "ImageId"},
            "InstanceType": "t3.small",
            "SubnetId": {"Fn::Select": [group % 2, {"Ref": "Subnets"}]},
            "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
            "IamRole": {"Ref": f"Role{group}"},
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": True}}
            ],
            "UserData": _script(group, lines),
            "Tags": _tags(group, "web"),
        },
    }


def _launch_template(group: int, lines: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateName": {"Fn::Sub": f"${{AWS::StackName}}-nodes-{group}"},
            "LaunchTemplateData": {
                "ImageId": {"Ref": "ImageId"},
                "InstanceType": "m6i.large",
                "IamRole": {"Fn::GetAtt": [f"Role{group}", "Arn"]},
                "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                "UserData": _script(group, lines),
                "TagSpecifications": [{"ResourceType": "instance", "Tags": _tags(group, "node")}],
            },
        },
    }


def _compute_environment(group: int) -> dict[str, Any]:
    return {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {
            "Type": "MANAGED",
            "State": "ENABLED",
            "ComputeResources": {
                "Type": "EC2",
                "AllocationStrategy": "BEST_FIT_PROGRESSIVE",
                "MinvCpus": 0,
                "MaxvCpus": 256,
                "InstanceTypes": ["optimal"],
                "Subnets": {"Ref": "Subnets"},
                "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
                "IamRole": f"Role{group}",
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": f"Nodes{group}"}, "Version": "$Latest"},
                "Tags": {"Group": str(group)},
            },
        },
    }


def _bucket(number: int) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-old-versions",
                        "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 60}],
                    }
                ]
            },
            "Tags": _tags(number, "bucket"),
        },
    }


def _security_group(number: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": f"Traffic of group {number}",
            "VpcId": {"Ref": "VpcId"},
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "10.0.0.0/8"}
                for port in (22, 80, 443, 8080)
            ],
            "Tags": _tags(number, "sg"),
        },
    }


def _resources(resources: int, lines: int, statements: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Logical ID and resource, in template order, for exactly `resources` resources after expansion."""
    left = resources
    group = 0
    while left >= GROUP_RESOURCES:
        yield f"Role{group}", _role(group, statements)
        yield f"Web{group}", _instance(group, lines)
        yield f"Bucket{group}", _bucket(group)
        yield f"Nodes{group}", _launch_template(group, lines)
        yield f"Sg{group}", _security_group(group)
        yield f"Batch{group}", _compute_environment(group)
        left -= GROUP_RESOURCES
        group += 1
    for extra in range(left):
        number = group + extra
        if extra % 2:
            yield f"Sg{number}", _security_group(number)
        else:
            yield f"Bucket{number}", _bucket(number)


def generate_template(resources: int, *, payload: int = 0) -> dict[str, Any]:
    """A template with exactly `resources` resources once expanded (one generated profile per role).

    `payload` adds lines of UserData to each instance and launch template and a statement per four
    lines to each role's policy: how the large templates of real stacks get large.
    """
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "ProfileExpand",
        "Description": f"Benchmark template: {resources} resources after expansion",
        "Parameters": {
            "ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
            "VpcId": {"Type": "AWS::EC2::VPC::Id"},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
        },
        "Resources": dict(_resources(resources, lines=payload, statements=payload // 4)),
        "Outputs": {"FirstRole": {"Value": {"Fn::GetAtt": ["Role0", "Arn"]}}} if resources >= 7 else {},
    }


def compact_size(template: Any) -> int:
    return len(json.dumps(template, separators=(",", ":")).encode())


def generate_sized_template(target_bytes: int, resources: int) -> dict[str, Any]:
    """The largest template of `resources` resources whose expansion fits `target_bytes` of compact JSON."""
    low, high = 0, 1
    while compact_size(expand(generate_template(resources, payload=high))) <= target_bytes:
        low, high = high, high * 2
    # Invariant: payload `low` fits, payload `high` does not.
    while high - low > 1:
        middle = (low + high) // 2
        if compact_size(expand(generate_template(resources, payload=middle))) <= target_bytes:
            low = middle
        else:
            high = middle
    return generate_template(resources, payload=low)


def check_expansion(fragment: dict[str, Any], resources: int) -> None:
    """Refuse to time an expansion that did not do the work (a benchmark of an error path is no benchmark)."""
    output = expand(fragment)
    roles = sum(1 for r in fragment["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    profiles = sum(1 for r in output["Resources"].values() if r["Type"] == "AWS::IAM::InstanceProfile")
    if len(output["Resources"]) != resources or profiles != roles:
        raise ValueError(
            f"expected {resources} resources and {roles} profiles after expansion, "
            f"got {len(output['Resources'])} and {profiles}"
        )
    if "IamRole" in json.dumps(output["Resources"]):
        raise ValueError("IamRole left in the expanded template")
