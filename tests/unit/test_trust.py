"""The trust-policy reader: certain only from literal text, UNKNOWN wherever an intrinsic decides."""

from __future__ import annotations

import json
from typing import Any

import pytest

from profile_expand.core.trust import Trust, ec2_trust


def _policy(principal: Any = None, action: Any = "sts:AssumeRole", effect: Any = "Allow") -> dict[str, Any]:
    statement = {"Effect": effect, "Principal": principal, "Action": action}
    return {"Version": "2012-10-17", "Statement": [statement]}


EC2 = {"Service": "ec2.amazonaws.com"}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_policy(EC2), Trust.EC2),
        (_policy({"Service": ["ssm.amazonaws.com", "ec2.amazonaws.com"]}), Trust.EC2),
        (_policy({"Service": "ec2.amazonaws.com.cn"}), Trust.EC2),
        (_policy({"Service": {"Fn::Sub": "ec2.${AWS::URLSuffix}"}}), Trust.EC2),
        (_policy({"Service": {"Fn::Join": ["", ["ec2.", {"Ref": "AWS::URLSuffix"}]]}}), Trust.EC2),
        (_policy({"Service": [{"Fn::Join": [".", ["ec2", "amazonaws", "com"]]}]}), Trust.EC2),
        (_policy(EC2, action=["sts:AssumeRole", "sts:TagSession"]), Trust.EC2),
        (_policy(EC2, action="sts:*"), Trust.EC2),
        (_policy(EC2, action=["sts:assumerole"]), Trust.EC2),
        # A single statement instead of a list, and the document as a JSON string.
        ({"Statement": {"Effect": "Allow", "Principal": EC2, "Action": "sts:AssumeRole"}}, Trust.EC2),
        (json.dumps(_policy(EC2)), Trust.EC2),
        # One statement for EC2 among others.
        (
            {
                "Statement": [
                    _policy({"Service": "lambda.amazonaws.com"})["Statement"][0],
                    _policy(EC2)["Statement"][0],
                ]
            },
            Trust.EC2,
        ),
        # Not EC2, certainly.
        (_policy({"Service": "lambda.amazonaws.com"}), Trust.NOT_EC2),
        (_policy({"Service": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]}), Trust.NOT_EC2),
        (_policy({"AWS": "arn:aws:iam::123456789012:root"}), Trust.NOT_EC2),
        (_policy(EC2, effect="Deny"), Trust.NOT_EC2),
        (_policy(EC2, action="sts:AssumeRoleWithWebIdentity"), Trust.NOT_EC2),
        (_policy({"Service": {"Fn::Sub": "lambda.${AWS::URLSuffix}"}}), Trust.NOT_EC2),
        ({"Statement": []}, Trust.NOT_EC2),
        # Open: an intrinsic decides.
        (_policy({"Service": {"Ref": "ServicePrincipal"}}), Trust.UNKNOWN),
        (_policy({"Service": {"Fn::Sub": "${Service}.amazonaws.com"}}), Trust.UNKNOWN),
        (_policy({"Service": {"Fn::Sub": "ec2.${Suffix}"}}), Trust.UNKNOWN),
        (_policy("*"), Trust.UNKNOWN),
        (_policy(EC2, action={"Ref": "Action"}), Trust.UNKNOWN),
        ({"Fn::If": ["UseEc2", _policy(EC2), _policy({"Service": "lambda.amazonaws.com"})]}, Trust.UNKNOWN),
        ({"Fn::If": ["C", _policy(EC2), _policy({"Service": ["ec2.amazonaws.com"]})]}, Trust.EC2),
        ({"Ref": "TrustPolicy"}, Trust.UNKNOWN),
        ("not json", Trust.UNKNOWN),
        (
            {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "sts:AssumeRole"}]},
            Trust.UNKNOWN,
        ),
    ],
)
def test_ec2_trust(document: Any, expected: Trust) -> None:
    assert ec2_trust(document) is expected
