"""migrate's analysis on plain templates: what converts (with the least options), what stays and why."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from profile_expand import expand
from profile_expand.cli.migrate import apply, plan
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.migrate_source import migrate_text
from profile_expand.cli.yaml_io import Format, decode, dump
from tests.strategies import GeneratedTemplate, templates
from tests.unit.test_properties import PROPERTY_SETTINGS

TRUST = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}


def _template(profile: dict[str, Any] | None = None, **resources: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "AppRole": {"Type": "AWS::IAM::Role", "Properties": TRUST},
        "Profile": profile
        or {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}},
        "Web": {
            "Type": "AWS::EC2::Instance",
            "Properties": {"ImageId": "ami-1", "IamInstanceProfile": {"Ref": "Profile"}},
        },
    }
    return {"Resources": {**base, **resources}}


def _converted(template: dict[str, Any]) -> Any:
    result = plan(template)
    assert not result.kept, result.kept
    (conversion,) = result.conversions
    migrated = apply(template, result.conversions)
    assert differences(template, expand(migrated)) == []
    return conversion.iam_role


def test_a_profile_named_as_the_macro_would_name_it_needs_no_option() -> None:
    template = _template()
    template["Resources"]["AppRoleInstanceProfile"] = template["Resources"].pop("Profile")
    template["Resources"]["Web"]["Properties"]["IamInstanceProfile"] = {"Ref": "AppRoleInstanceProfile"}
    assert _converted(template) == {"Ref": "AppRole"}


def test_another_logical_id_is_kept_with_the_logical_id_option_and_path_and_name_carried() -> None:
    profile = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"Path": "/web/", "InstanceProfileName": "web", "Roles": [{"Ref": "AppRole"}]},
    }
    assert _converted(_template(profile)) == {
        "Role": {"Ref": "AppRole"},
        "Profile": {"Path": "/web/", "InstanceProfileName": "web", "LogicalId": "Profile"},
    }


def test_readiness_is_switched_off_only_where_the_role_has_policies() -> None:
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": "p", "PolicyDocument": {}, "Roles": [{"Ref": "AppRole"}]},
    }
    value = _converted(_template(Policy=policy))
    assert value["PermissionReadiness"] is False
    assert "PermissionReadiness" not in _converted(_template())


def test_a_shared_condition_is_carried_by_the_sites() -> None:
    template = _template()
    template["Conditions"] = {"IsProd": {"Fn::Equals": ["a", "b"]}}
    template["Resources"]["Profile"]["Condition"] = "IsProd"
    template["Resources"]["Web"]["Condition"] = "IsProd"
    _converted(template)


def test_every_site_form_of_one_profile_converts_together() -> None:
    template = _template(
        Lt={
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"IamInstanceProfile": {"Arn": {"Fn::GetAtt": "Profile.Arn"}}}
            },
        },
        Cluster={"Type": "AWS::EMR::Cluster", "Properties": {"JobFlowRole": {"Ref": "Profile"}}},
        Env={
            "Type": "AWS::ElasticBeanstalk::Environment",
            "Properties": {
                "OptionSettings": [
                    {
                        "Namespace": "aws:autoscaling:launchconfiguration",
                        "OptionName": "IamInstanceProfile",
                        "Value": {"Ref": "Profile"},
                    }
                ]
            },
        },
    )
    result = plan(template)
    (conversion,) = result.conversions
    assert len(conversion.slots) == 4
    assert differences(template, expand(apply(template, result.conversions))) == []


def _kept(template: dict[str, Any]) -> list[tuple[str, str]]:
    result = plan(template)
    assert not result.conversions
    return [(reason.code, reason.text) for kept in result.kept for reason in kept.reasons]


@pytest.mark.parametrize(
    ("edit", "code", "words"),
    [
        (
            lambda t: t.update(Outputs={"P": {"Value": {"Fn::GetAtt": ["Profile", "Arn"]}}}),
            "outputs",
            "Outputs",
        ),
        (
            lambda t: t["Resources"].update(
                Doc={"Type": "AWS::SSM::Document", "Properties": {"Content": {"Fn::Sub": "x ${Profile.Arn}"}}}
            ),
            "fn-sub",
            "Fn::Sub at Doc.Properties.Content",
        ),
        (
            lambda t: t["Resources"]["AppRole"].update(DependsOn=["Profile"]),
            "depends-on",
            "DependsOn of AppRole",
        ),
        (
            lambda t: t["Resources"].update(
                Child={
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "x", "Parameters": {"Profile": {"Ref": "Profile"}}},
                }
            ),
            "nested-stack",
            "nested stack Child",
        ),
        (
            lambda t: t["Resources"]["Profile"]["Properties"].update(
                Roles=[{"Fn::If": ["C", {"Ref": "AppRole"}, "other"]}]
            ),
            "roles-fn-if",
            "Roles entry is under Fn::If",
        ),
        (
            lambda t: (
                t.update(Conditions={"A": {"Fn::Equals": ["a", "b"]}, "B": {"Fn::Equals": ["a", "c"]}}),
                t["Resources"]["Profile"].update(Condition="A"),
                t["Resources"]["Web"].update(Condition="B"),
            ),
            "conditions",
            "conditions its sites do not share",
        ),
        (
            lambda t: (
                t["Resources"]["Web"].update(Condition="B")
                or t.update(Conditions={"B": {"Fn::Equals": ["a", "b"]}})
            ),
            "conditions",
            "every site using it is conditional (B)",
        ),
        (lambda t: t["Resources"]["Profile"].update(DeletionPolicy="Retain"), "attributes", "DeletionPolicy"),
        (
            lambda t: t["Resources"]["Web"]["Properties"].update(
                IamInstanceProfile={"Fn::Join": ["", [{"Ref": "Profile"}]]}
            ),
            "other-form",
            "names it in another expression, which the property does not accept (name)",
        ),
        (
            lambda t: t["Resources"]["Web"]["Properties"].update(
                IamInstanceProfile={"Fn::If": ["C", {"Ref": "Profile"}, {"Ref": "AWS::NoValue"}]}
            ),
            "site-fn-if",
            "chosen with Fn::If at Web.Properties.IamInstanceProfile",
        ),
        (lambda t: t["Resources"].pop("Web"), "unused", "used at no instance-profile site"),
    ],
)
def test_a_profile_that_cannot_convert_exactly_stays_with_its_reason(
    edit: Any, code: str, words: str
) -> None:
    template = _template()
    edit(template)
    reasons = _kept(template)
    assert any(found == code and words in text for found, text in reasons), reasons


def test_a_template_the_transform_alone_would_change_is_left_whole() -> None:
    template = _template(
        Other={"Type": "AWS::EC2::Instance", "Properties": {"IamInstanceProfile": {"Ref": "AppRole"}}}
    )
    result = plan(template)
    assert result.blocked and "would itself change the template" in result.blocked
    assert "resource Other differs" in result.blocked
    # Which correction, in the macro's own words.
    assert "the macro says: Resource Other, Properties.IamInstanceProfile: " in result.blocked
    assert "points at role AppRole" in result.blocked


def test_two_profiles_of_one_role_stay_two() -> None:
    template = _template(
        Second={"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}},
        Api={"Type": "AWS::EC2::Instance", "Properties": {"IamInstanceProfile": {"Ref": "Second"}}},
    )
    result = plan(template)
    assert [c.profile for c in result.conversions] == ["Profile", "Second"]
    before = copy.deepcopy(template)
    migrated = apply(template, result.conversions)
    assert template == before, "the input was modified"
    assert differences(template, expand(migrated)) == []


def _hand_written(generated: GeneratedTemplate) -> dict[str, Any]:
    """What an author would have written by hand: the macro's output without its Transform and Metadata."""
    output = copy.deepcopy(expand(generated.template))
    output.pop("Transform", None)
    for resource in output["Resources"].values():
        if isinstance(resource, dict) and "ProfileExpand" in (resource.get("Metadata") or {}):
            del resource["Metadata"]["ProfileExpand"]
            if not resource["Metadata"]:
                del resource["Metadata"]
    return output


@settings(PROPERTY_SETTINGS, max_examples=max(50, PROPERTY_SETTINGS.max_examples // 10))
@given(templates(), st.sampled_from([Format.JSON, Format.YAML]))
def test_migrating_any_hand_written_equivalent_changes_nothing(
    generated: GeneratedTemplate, fmt: Format
) -> None:
    """Every site and form: the macro's own output, written by hand, migrates back with zero change."""
    template = _hand_written(generated)
    text = dump(template, fmt)
    migration = migrate_text(text)
    assert migration.mismatches == ()
    converted = {conversion.profile for conversion in migration.plan.conversions}
    event(f"{fmt.value}: converted {min(len(converted), 3)}")
    for kept in migration.plan.kept:
        for reason in kept.reasons:
            event(f"kept: {reason.code}")
    migrated = decode(migration.text).plain
    assert differences(template, expand(migrated)) == []
    # What migrate converted is gone from the file and named at its sites through IamRole.
    assert not converted & set(migrated["Resources"])


# -- the form the author wrote, dependencies a reference implies, references kept, sets proven together --


def _site_template(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    template = _template()
    template["Resources"]["Web"] = {"Type": resource_type, "Properties": properties}
    return template


_ARN = {"Fn::GetAtt": ["Profile", "Arn"]}
_NAME = {"Ref": "Profile"}


@pytest.mark.parametrize(
    ("resource_type", "properties", "form"),
    [
        ("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {"IamInstanceProfile": {"Name": _NAME}}}, "Name"),
        ("AWS::AutoScaling::LaunchConfiguration", {"ImageId": "ami-1", "IamInstanceProfile": _ARN}, "Arn"),
        (
            "AWS::Batch::ComputeEnvironment",
            {"Type": "MANAGED", "ComputeResources": {"InstanceRole": _NAME}},
            "Name",
        ),
        (
            "AWS::EC2::EC2Fleet",
            {"LaunchTemplateConfigs": [{"Overrides": [{"IamInstanceProfile": {"Name": _NAME}}]}]},
            "Name",
        ),
        (
            "AWS::ElasticBeanstalk::Environment",
            {
                "OptionSettings": [
                    {
                        "Namespace": "aws:autoscaling:launchconfiguration",
                        "OptionName": "IamInstanceProfile",
                        "Value": _ARN,
                    }
                ]
            },
            "Arn",
        ),
    ],
)
def test_the_form_the_author_wrote_is_kept_with_profile_form(
    resource_type: str, properties: dict[str, Any], form: str
) -> None:
    template = _site_template(resource_type, properties)
    result = plan(template)
    assert not result.kept, result.kept
    (conversion,) = result.conversions
    assert conversion.value(0)["Profile"]["Form"] == form
    expanded = expand(apply(template, result.conversions))
    assert differences(template, expanded) == []
    assert expanded["Resources"]["Web"]["Properties"] == properties


def test_a_depends_on_that_a_reference_implies_goes_and_any_other_stays() -> None:
    template = _template()
    resources = template["Resources"]
    resources["Other"] = {"Type": "AWS::SNS::Topic"}
    resources["Profile"]["DependsOn"] = "AppRole"  # Roles names it already
    resources["Web"]["DependsOn"] = ["Profile", "Other"]  # IamInstanceProfile names Profile already
    result = plan(template)
    (conversion,) = result.conversions
    assert conversion.dropped == ("Web",)
    migrated = apply(template, result.conversions)
    assert migrated["Resources"]["Web"]["DependsOn"] == ["Other"]
    assert differences(template, expand(migrated)) == []


def test_a_depends_on_no_reference_implies_moves_to_the_sites_or_keeps_the_profile() -> None:
    template = _template(Other={"Type": "AWS::SNS::Topic"})
    template["Resources"]["Profile"]["DependsOn"] = ["AppRole", "Other"]
    # Issue 23: the site's resource can wait for Other itself.
    (conversion,) = plan(template).conversions
    assert conversion.moved == ("Other",)
    # A DependsOn the site's resource holds in a shape migrate does not edit: the profile stays.
    template["Resources"]["Web"]["DependsOn"] = {"Ref": "Other"}
    reasons = _kept(template)
    assert reasons[0] == (
        "own-depends-on",
        "its DependsOn Other is implied by no reference of it, a generated profile does not carry one, "
        "and it cannot be kept on the resources that use the profile",
    )


def test_differences_compare_dependencies_not_how_they_are_written() -> None:
    template = _template(Other={"Type": "AWS::SNS::Topic"})
    template["Resources"]["Web"]["DependsOn"] = ["Profile", "Other"]
    implied_only = copy.deepcopy(template)
    implied_only["Resources"]["Web"]["DependsOn"] = ["Other"]
    assert differences(template, implied_only) == []
    order_lost = copy.deepcopy(template)
    order_lost["Resources"]["Web"]["DependsOn"] = ["Profile"]
    assert differences(template, order_lost) == ["resource Web depends on Profile instead of Other, Profile"]
    order_added = copy.deepcopy(template)
    order_added["Resources"]["Other"]["DependsOn"] = "AppRole"
    assert differences(template, order_added) == ["resource Other depends on AppRole instead of nothing"]


def test_keep_references_converts_a_profile_named_by_outputs_keeping_its_logical_id() -> None:
    template = _template()
    template["Outputs"] = {"ProfileArn": {"Value": {"Fn::GetAtt": ["Profile", "Arn"]}}}
    assert [code for code, _ in _kept(template)] == ["outputs"]
    result = plan(template, keep_references=True)
    assert not result.kept
    (conversion,) = result.conversions
    assert conversion.iam_role == {"Role": {"Ref": "AppRole"}, "Profile": {"LogicalId": "Profile"}}
    migrated = apply(template, result.conversions)
    assert migrated["Outputs"] == template["Outputs"]
    assert differences(template, expand(migrated)) == []


def test_two_profiles_that_convert_alone_but_not_together_keep_the_second_saying_why() -> None:
    # One IAM name under two conditions that the author knows exclusive: alone, each converts; together the
    # macro refuses two generated profiles that may exist together with one name.
    template = _template()
    resources = template["Resources"]
    template["Conditions"] = {"A": {"Fn::Equals": ["a", "b"]}, "B": {"Fn::Equals": ["a", "c"]}}
    profile = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"InstanceProfileName": "web", "Roles": [{"Ref": "AppRole"}]},
    }
    resources["Profile"] = {**copy.deepcopy(profile), "Condition": "A"}
    resources["Web"]["Condition"] = "A"
    resources["Second"] = {**copy.deepcopy(profile), "Condition": "B"}
    resources["Api"] = {
        "Type": "AWS::EC2::Instance",
        "Condition": "B",
        "Properties": {"ImageId": "ami-1", "IamInstanceProfile": {"Ref": "Second"}},
    }
    result = plan(template)
    assert [c.profile for c in result.conversions] == ["Profile"]
    ((code, text),) = [(r.code, r.text) for kept in result.kept for r in kept.reasons]
    assert code == "together"
    assert text.startswith("it converts alone, but not together with Profile: the macro would reject it:")
    assert "InstanceProfileName" in text
    assert differences(template, expand(apply(template, result.conversions))) == []


def test_a_same_name_profile_named_by_ref_of_its_role_converts_and_its_depends_on_goes() -> None:
    """CDK's Elastic Beanstalk pipeline test (aws-codepipeline-actions integ.pipeline-elastic-beanstalk-deploy):
    the profile is named after its role, the option names it as `!Ref <Role>`, and the environment's
    DependsOn orders it after the profile. Converted, the macro writes `!Ref <Profile>`: the same name."""
    profile = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"InstanceProfileName": {"Ref": "AppRole"}, "Roles": [{"Ref": "AppRole"}]},
    }
    environment = {
        "Type": "AWS::ElasticBeanstalk::Environment",
        "DependsOn": ["Profile"],
        "Properties": {
            "ApplicationName": "app",
            "OptionSettings": [
                {
                    "Namespace": "aws:autoscaling:launchconfiguration",
                    "OptionName": "IamInstanceProfile",
                    "Value": {"Ref": "AppRole"},
                }
            ],
        },
    }
    template = _template(profile, Env=environment)
    del template["Resources"]["Web"]
    assert _converted(template) == {
        "Role": {"Ref": "AppRole"},
        "Profile": {"InstanceProfileName": {"Ref": "AppRole"}, "LogicalId": "Profile"},
    }
    migrated = apply(template, plan(template).conversions)
    assert "DependsOn" not in migrated["Resources"]["Env"]  # the reference the macro writes orders it
    option = migrated["Resources"]["Env"]["Properties"]["OptionSettings"][0]
    assert option["OptionName"] == "IamRole"
    assert expand(migrated)["Resources"]["Env"]["Properties"]["OptionSettings"][0]["Value"] == {
        "Ref": "Profile"
    }


def test_a_profile_named_by_its_literal_name_converts_into_an_ordered_reference() -> None:
    """aws-cdk issue 11441's shape: an ImageBuilder configuration names the template's profile by its
    literal name, with nothing ordering it after the profile (W9004). Migrated, the site references it."""
    profile = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"InstanceProfileName": "my-builder-profile", "Roles": [{"Ref": "AppRole"}]},
    }
    builder = {
        "Type": "AWS::ImageBuilder::InfrastructureConfiguration",
        "Properties": {"Name": "builder", "InstanceProfileName": "my-builder-profile"},
    }
    template = _template(profile, Builder=builder)
    del template["Resources"]["Web"]
    assert _converted(template) == {
        "Role": {"Ref": "AppRole"},
        "Profile": {"InstanceProfileName": "my-builder-profile", "LogicalId": "Profile"},
    }
    expanded = expand(apply(template, plan(template).conversions))
    assert expanded["Resources"]["Builder"]["Properties"]["InstanceProfileName"] == {"Ref": "Profile"}
