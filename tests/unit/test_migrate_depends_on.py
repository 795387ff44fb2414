"""Issue 23: a hand-written profile with a DependsOn that no reference implies (CDK's profiles wait for a
VPC route) converts when the dependency can be kept on the resources using it; otherwise it stays."""

import json
from typing import Any

from profile_expand.cli.migrate import plan
from profile_expand.cli.migrate_source import migrate_text
from profile_expand.core.pipeline import expand
from profile_expand.core.template_text import load_template

TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


def _template(**route: Any) -> dict[str, Any]:
    return {
        "Conditions": {"Yes": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "Route": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": "rtb-1"}, **route},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
            "Profile": {
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [{"Ref": "Role"}]},
                "DependsOn": ["Route"],
            },
            "Web": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"ImageId": "ami-1", "IamInstanceProfile": {"Ref": "Profile"}},
                "DependsOn": ["Role"],
            },
            "Db": {
                "Type": "AWS::EC2::Instance",
                "Properties": {"ImageId": "ami-1", "IamInstanceProfile": {"Ref": "Profile"}},
            },
        },
    }


def test_the_profiles_own_depends_on_moves_to_the_resources_using_it() -> None:
    template = _template()
    assert [c.profile for c in plan(template).conversions] == ["Profile"]
    for text in (json.dumps(template, indent=1), _yaml(template)):
        migration = migrate_text(text, "t")
        assert migration.mismatches == ()
        migrated = load_template(migration.text)
        resources = migrated["Resources"]
        assert "Profile" not in resources
        assert resources["Web"]["DependsOn"] == ["Role", "Route"]
        assert resources["Db"]["DependsOn"] in (["Route"], "Route")
        assert "Route" not in json.dumps(expand(migrated)["Resources"]["Profile"])


def test_a_dependency_under_another_condition_keeps_the_profile_with_its_reason() -> None:
    migration = plan(_template(Condition="Yes"))
    assert migration.conversions == ()
    ((kept,),) = [k.reasons for k in migration.kept]
    assert kept.code == "own-depends-on"
    assert "cannot be kept on the resources that use the profile" in kept.text


def _yaml(template: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(template, sort_keys=False)
