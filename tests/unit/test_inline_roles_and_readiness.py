"""Issue 5 details the golden cases do not pin: naming rules in combination, policy ARNs, DependsOn shapes."""

from __future__ import annotations

from typing import Any

import pytest

from profile_expand import InvalidTemplateError, expand, expand_with_report
from profile_expand.core.inline_roles import apply_name_rules, managed_policy_arn, satisfies
from profile_expand.core.readiness import dependents, references
from profile_expand.core.sites import RoleNameRule

RDS = RoleNameRule(name_prefixes=("AWSRDSCustom",))
PCS = RoleNameRule(name_prefixes=("AWSPCS",), paths=("/aws-pcs/",))
TRUST: dict[str, Any] = {"AssumeRolePolicyDocument": {}}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "AmazonSSMManagedInstanceCore",
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        ),
        (
            "service-role/AmazonEC2RoleforSSM",
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2RoleforSSM"},
        ),
        ("arn:aws-cn:iam::aws:policy/ReadOnlyAccess", "arn:aws-cn:iam::aws:policy/ReadOnlyAccess"),
        ({"Ref": "PolicyArn"}, {"Ref": "PolicyArn"}),
    ],
)
def test_managed_policy_short_names_become_partition_aware_arns(entry: object, expected: object) -> None:
    assert managed_policy_arn(entry) == expected


def test_one_inline_role_can_meet_two_services_rules() -> None:
    properties, problems, notes = apply_name_rules({}, [RDS, PCS], "abcd1234")
    assert problems == () and len(notes) == 1
    assert properties["Path"] == "/aws-pcs/"
    assert properties["RoleName"]["Fn::Join"][1][0] == "AWSRDSCustom"


@pytest.mark.parametrize(
    ("properties", "verdict"),
    [
        ({"RoleName": "AWSPCS-nodes"}, True),
        ({"Path": "/aws-pcs/"}, True),
        ({"RoleName": "nodes"}, False),
        ({"RoleName": "nodes", "Path": "/other/"}, False),
        ({}, None),  # CloudFormation will generate the name from the stack name
        ({"RoleName": {"Fn::Sub": "${AWS::StackName}-nodes"}}, None),
    ],
)
def test_pcs_rule_verdicts(properties: dict[str, Any], verdict: bool | None) -> None:
    assert satisfies(properties, PCS) is verdict


def test_generated_role_name_fits_iam_limits() -> None:
    properties, _, _ = apply_name_rules({}, [RoleNameRule(name_prefixes=("ecsInstanceRole",))], "abcd1234")
    prefix, _, digest = properties["RoleName"]["Fn::Join"][1]
    assert len(prefix) + 1 + 36 + 1 + len(digest) <= 64  # a stack ID's UUID is 36 characters


def _instance(iam_role: object, **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::EC2::Instance", **extra, "Properties": {"ImageId": "ami-1", "IamRole": iam_role}}


def test_inline_roles_belong_to_their_resource_and_equal_definitions_are_never_merged() -> None:
    ssm = {"ManagedPolicyArns": ["AmazonSSMManagedInstanceCore"]}
    alone = expand_with_report({"Resources": {"Web": _instance(dict(ssm))}})
    report = expand_with_report(
        {
            "Resources": {
                "Api": _instance(dict(ssm)),  # before Web in logical-ID order: it once took Web's role
                "Web": _instance(dict(ssm)),
                "C": _instance({"ManagedPolicyArns": ["ReadOnlyAccess"]}),
            }
        }
    )
    assert report.roles_created == ("ApiRole", "CRole", "WebRole")
    assert report.profiles_created == (
        "ApiRoleInstanceProfile",
        "CRoleInstanceProfile",
        "WebRoleInstanceProfile",
    )
    # Web's role and profile are the same with or without the other instances.
    for logical_id in ("WebRole", "WebRoleInstanceProfile"):
        assert (
            report.template["Resources"][logical_id]["Properties"]
            == (alone.template["Resources"][logical_id]["Properties"])
        )


def test_several_inline_definitions_in_one_resource_each_get_a_digest() -> None:
    fleet = {
        "Type": "AWS::EC2::SpotFleet",
        "Properties": {
            "SpotFleetRequestConfigData": {
                "LaunchSpecifications": [
                    {"IamRole": {"Description": "a"}},
                    {"IamRole": {"Description": "b"}},
                    {"IamRole": {"Description": "a"}},
                ]
            }
        },
    }
    report = expand_with_report({"Resources": {"Fleet": fleet}})
    assert len(report.roles_created) == 2
    assert all(
        role.startswith("FleetRole") and len(role) == len("FleetRole") + 8 for role in report.roles_created
    )


def test_inline_role_id_taken_is_an_error_never_a_rename() -> None:
    with pytest.raises(
        InvalidTemplateError, match="WebRole, which is already a resource of type AWS::S3::Bucket"
    ):
        expand(
            {"Resources": {"WebRole": {"Type": "AWS::S3::Bucket"}, "Web": _instance({"Description": "x"})}}
        )


def test_conditional_inline_role_exists_only_with_its_users() -> None:
    out = expand(
        {
            "Conditions": {"IsProd": {"Fn::Equals": ["a", "b"]}},
            "Resources": {"Web": _instance({"Description": "x"}, Condition="IsProd")},
        }
    )
    assert out["Resources"]["WebRole"]["Condition"] == "IsProd"
    assert out["Resources"]["WebRoleInstanceProfile"]["Condition"] == "IsProd"


def _policy(*roles: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        **extra,
        "Properties": {"PolicyName": "p", "PolicyDocument": {}, "Roles": [{"Ref": r} for r in roles]},
    }


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        (None, "Policy"),
        ("Other", ["Other", "Policy"]),
        (["Policy"], ["Policy"]),  # never twice
        (["Other", "Policy"], ["Other", "Policy"]),
    ],
)
def test_depends_on_is_merged_without_duplicates(depends_on: object, expected: object) -> None:
    web = (
        _instance({"Ref": "Role"}) if depends_on is None else _instance({"Ref": "Role"}, DependsOn=depends_on)
    )
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": TRUST},
        "Other": {"Type": "AWS::S3::Bucket"},
    }
    resources |= {"Policy": _policy("Role"), "Web": web}
    out = expand({"Resources": resources})
    assert out["Resources"]["Web"]["DependsOn"] == expected
    assert list(out["Resources"]["Web"]) == ["Type", "DependsOn", "Properties"]


def test_no_depends_on_on_a_policy_under_another_condition() -> None:
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": TRUST},
        "Policy": _policy("Role", Condition="IsProd"),
        "Web": _instance({"Ref": "Role"}),
    }
    report = expand_with_report({"Conditions": {"IsProd": {"Fn::Equals": [1, 2]}}, "Resources": resources})
    assert "DependsOn" not in report.template["Resources"]["Web"]
    assert any("under Condition IsProd" in str(w) for w in report.warnings)


def test_references_walk_deep_templates_without_recursion() -> None:
    deep: Any = {"Ref": "Target"}
    for _ in range(5000):
        deep = {"Nested": [deep]}
    assert list(references({"Properties": deep})) == ["Target"]
    resources = {"A": {"Properties": deep}, "Target": {"DependsOn": "B"}, "B": {}}
    assert dependents(resources)("B") == {"Target", "A"}


def test_profile_options_and_inline_errors_are_all_reported() -> None:
    with pytest.raises(InvalidTemplateError) as raised:
        expand(
            {
                "Resources": {
                    "A": _instance({"Role": "x", "Profile": {"Path": "no-slash"}}),
                    "B": _instance({"RoleName": "r", "Polices": []}),
                }
            }
        )
    messages = [str(error) for error in raised.value.errors]
    assert len(messages) == 2
    assert "A, Properties.IamRole.Profile.Path" in messages[0]
    assert "did you mean Policies?" in messages[1]


def test_two_profiles_that_can_exist_together_may_not_share_a_name() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": TRUST}
    named = {"InstanceProfileName": "web-profile"}
    with pytest.raises(InvalidTemplateError, match='would both be named "web-profile"'):
        expand(
            {
                "Resources": {
                    "A": role,
                    "B": role,
                    "X": _instance({"Role": "A", "Profile": named}),
                    "Y": _instance({"Role": "B", "Profile": named}),
                }
            }
        )
    # In the two branches of one Fn::If they never coexist: that is fine.
    out = expand(
        {
            "Conditions": {"IsProd": {"Fn::Equals": [1, 2]}},
            "Resources": {
                "A": role,
                "B": role,
                "X": _instance({"Role": {"Fn::If": ["IsProd", "A", "B"]}, "Profile": named}),
            },
        }
    )
    names = [
        r["Properties"].get("InstanceProfileName")
        for r in out["Resources"].values()
        if "Roles" in r.get("Properties", {})
    ]
    assert names == ["web-profile", "web-profile"]


def test_rds_custom_prefix_wins_over_the_template_default_name_prefix() -> None:
    out = expand(
        {
            "Metadata": {"ProfileExpand": {"ProfileDefaults": {"NamePrefix": "team-a", "Path": "/team-a/"}}},
            "Resources": {
                "DbRole": {"Type": "AWS::IAM::Role", "Properties": {**TRUST, "RoleName": "AWSRDSCustom-db"}},
                "Db": {
                    "Type": "AWS::RDS::DBInstance",
                    "Properties": {"Engine": "custom-oracle-ee", "IamRole": "DbRole"},
                },
                "Web": _instance("DbRole"),
            },
        }
    )
    profiles = {
        lid: r["Properties"]
        for lid, r in out["Resources"].items()
        if r["Type"] == "AWS::IAM::InstanceProfile"
    }
    assert (
        profiles["DbRoleAWSRDSCustomInstanceProfile"]["InstanceProfileName"]["Fn::Join"][1][0]
        == "AWSRDSCustom"
    )
    assert profiles["DbRoleAWSRDSCustomInstanceProfile"]["Path"] == "/team-a/"
    assert profiles["DbRoleInstanceProfile"]["InstanceProfileName"]["Fn::Join"][1][0] == "team-a"


def test_permission_readiness_takes_only_true_or_false() -> None:
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": TRUST},
        "Policy": _policy("Role"),
        "Web": _instance({"Role": {"Ref": "Role"}, "PermissionReadiness": "no"}),
    }
    with pytest.raises(
        InvalidTemplateError, match=r"Web, Properties.IamRole.PermissionReadiness: \"no\" is not true"
    ):
        expand({"Resources": resources})
    resources["Web"] = _instance({"Role": {"Ref": "Role"}, "PermissionReadiness": True})
    assert expand({"Resources": resources})["Resources"]["Web"]["DependsOn"] == "Policy"
