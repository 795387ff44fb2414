"""Issue 23: no silent case. A profile named after its role, literal role names and ARNs at sites, and
literal profile names that nothing orders the site after."""

from typing import Any

import pytest

from profile_expand.core.pipeline import analyse, expand, expand_with_report

TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


def _role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST, **properties}}


def _profile(name: object) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"Roles": [{"Ref": "InstanceRole"}], "InstanceProfileName": name},
    }


def _instance(profile: object, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::Instance",
        "Properties": {"ImageId": "ami-1", "IamInstanceProfile": profile},
        **extra,
    }


def _beanstalk(profile: object) -> dict[str, Any]:
    option = {
        "Namespace": "aws:autoscaling:launchconfiguration",
        "OptionName": "IamInstanceProfile",
        "Value": profile,
    }
    return {
        "Type": "AWS::ElasticBeanstalk::Environment",
        "Properties": {"ApplicationName": "app", "SolutionStackName": "s", "OptionSettings": [option]},
    }


def _same_name(site: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "InstanceRole": _role(),
            "InstanceProfile": _profile({"Ref": "InstanceRole"}),
            "Site": site,
        }
    }


SAME_NAME_SITES = {
    "instance": _instance({"Ref": "InstanceRole"}),
    "beanstalk option": _beanstalk({"Ref": "InstanceRole"}),
}


def _codes(template: dict[str, Any], **options: Any) -> list[str]:
    return [finding.code for finding in analyse(template, **options).findings]


@pytest.mark.parametrize("site", SAME_NAME_SITES.values(), ids=SAME_NAME_SITES.keys())
def test_ref_of_the_role_a_profile_is_named_after_is_that_profile_with_a_warning(
    site: dict[str, Any],
) -> None:
    template = _same_name(site)
    model = analyse(template, transform_declared=False)
    assert [f.code for f in model.findings] == ["W9004"]
    (finding,) = model.findings
    assert finding.logical_id == "Site"
    assert "instance profile InstanceProfile" in finding.message
    assert "`!Ref InstanceProfile`" in finding.message


@pytest.mark.parametrize("site", SAME_NAME_SITES.values(), ids=SAME_NAME_SITES.keys())
def test_the_macro_writes_the_profile_reference_and_generates_nothing(site: dict[str, Any]) -> None:
    template = _same_name(site)
    expansion = expand_with_report(template)
    resources = expansion.template["Resources"]
    assert sorted(resources) == ["InstanceProfile", "InstanceRole", "Site"]
    assert '{"Ref": "InstanceProfile"}' in str(resources["Site"]).replace("'", '"')
    assert "{'Ref': 'InstanceRole'}" not in str(resources["Site"])
    assert any("InstanceProfile" in str(w) for w in expansion.warnings)
    assert expand(expansion.template) == expansion.template


def test_the_same_name_written_literally_is_judged_the_same() -> None:
    template = {
        "Resources": {
            "InstanceRole": _role(RoleName="app-role"),
            "InstanceProfile": _profile({"Ref": "InstanceRole"}),
            "Site": _instance("app-role"),
        }
    }
    assert _codes(template, transform_declared=False) == ["W9004"]


def test_a_site_ordered_after_the_profile_has_no_warning() -> None:
    template = _same_name(_instance({"Ref": "InstanceRole"}, DependsOn="InstanceProfile"))
    assert _codes(template, transform_declared=False) == []
    assert expand(template) == template


def test_a_literal_profile_name_nothing_orders_is_reported() -> None:
    # aws-cdk issue 11441: the infrastructure configuration is created before the profile.
    template = {
        "Resources": {
            "InstanceRole": _role(),
            "BuilderProfile": _profile("my-builder-profile"),
            "Infrastructure": {
                "Type": "AWS::ImageBuilder::InfrastructureConfiguration",
                "Properties": {"Name": "infra", "InstanceProfileName": "my-builder-profile"},
            },
        }
    }
    model = analyse(template, transform_declared=False)
    assert [(f.code, f.logical_id) for f in model.findings] == [("W9004", "Infrastructure")]
    assert "BuilderProfile" in model.findings[0].message
    expanded = expand(template)["Resources"]["Infrastructure"]["Properties"]
    assert expanded["InstanceProfileName"] == {"Ref": "BuilderProfile"}


def test_the_shorthand_given_a_template_roles_literal_name_references_the_role() -> None:
    template = {
        "Resources": {
            "AppRole": _role(RoleName="app-instance-role"),
            "Site": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": "app-instance-role"}},
        }
    }
    resources = expand(template)["Resources"]
    profiles = [r for r in resources.values() if r["Type"] == "AWS::IAM::InstanceProfile"]
    assert [p["Properties"]["Roles"] for p in profiles] == [[{"Ref": "AppRole"}]]


ROLE_ARN = "arn:aws:iam::123456789012:role/app"


def _launch_template(data: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": data}}


ROLE_ARN_SITES = {
    "instance name": (_instance(ROLE_ARN), ("Properties", "IamInstanceProfile")),
    "launch template Arn": (
        _launch_template({"IamInstanceProfile": {"Arn": ROLE_ARN}}),
        ("Properties", "LaunchTemplateData", "IamInstanceProfile"),
    ),
    "beanstalk option": (_beanstalk(ROLE_ARN), ("Properties", "OptionSettings", 0, "Value")),
}


@pytest.mark.parametrize(("site", "path"), ROLE_ARN_SITES.values(), ids=ROLE_ARN_SITES.keys())
def test_a_role_arn_at_a_site_is_corrected_under_the_transform(
    site: dict[str, Any], path: tuple[Any, ...]
) -> None:
    template = {"Resources": {"Site": site}}
    expansion = expand_with_report(template)
    resources = expansion.template["Resources"]
    (profile_id,) = [lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::InstanceProfile"]
    assert resources[profile_id]["Properties"]["Roles"] == ["app"]
    value: Any = resources["Site"]
    for step in path:
        value = value[step]
    assert profile_id in str(value)
    assert ROLE_ARN not in str(value)
    assert any(ROLE_ARN in str(w) for w in expansion.warnings)
    # Without the transform it stays the error it is.
    assert "E9001" in _codes(template, transform_declared=False)


def test_migrate_still_converts_a_profile_holding_a_template_roles_literal_name() -> None:
    # Its shorthand now expands to `Roles: [!Ref Role]`: the same name, created after the role.
    from profile_expand.cli.migrate import plan

    template = {
        "Resources": {
            "AppRole": _role(RoleName="app-role"),
            "Profile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": ["app-role"]}},
            "Site": _instance({"Ref": "Profile"}),
        }
    }
    migration = plan(template)
    assert [c.profile for c in migration.conversions] == ["Profile"]
    assert migration.kept == ()
