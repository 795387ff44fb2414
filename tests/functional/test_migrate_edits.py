"""`profile-expand migrate` on the text of a file (issue 18): every comment stays, the form the author wrote
stays, a DependsOn a reference implies goes, and what it cannot do is a refusal naming the profile, never
a traceback or a wrong write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profile_expand import expand
from profile_expand.cli.main import main
from profile_expand.cli.migrate import transform_problems
from profile_expand.cli.migrate_compare import differences
from profile_expand.cli.migrate_nodes import comments, lost_comments
from profile_expand.cli.migrate_source import migrate_text
from profile_expand.cli.yaml_io import decode
from profile_expand.core.cfn import transform_items

ROLE = """\
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
"""
PROFILE = """\
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Roles: [!Ref AppRole]
"""
# The role, its profile and a launch template's data, up to its profile property.
LAUNCH_TEMPLATE = (
    "Resources:\n"
    + ROLE
    + PROFILE
    + "  Template:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n      LaunchTemplateData:\n"
)
INSTANCE = """\
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      IamInstanceProfile: !Ref Profile
"""


def _migrated(text: str, **options: bool) -> str:
    """migrate_text's output, checked as every migrated file is: proven, parsed, every comment kept."""
    migration = migrate_text(text, **options)
    assert migration.mismatches == ()
    assert migration.plan.conversions, migration.plan.kept
    original = decode(text).plain
    migrated = decode(migration.text).plain
    assert differences(original, expand(migrated)) == []
    assert lost_comments(text, migration.text) == []
    assert len(comments(migration.text)) == len(comments(text))
    return migration.text


def _write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- comments ----------------------------------------------------------------------------------------


def test_comments_inside_a_site_value_over_several_lines_are_kept() -> None:
    text = (
        LAUNCH_TEMPLATE
        + """\
        IamInstanceProfile:
          # the profile, by its ARN
          Arn: !GetAtt Profile.Arn  # as the launch template takes it
        ImageId: ami-1
  Config:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: ami-1
      IamInstanceProfile: {
        # by name, in flow style
        Ref: Profile}
"""
    )
    migrated = _migrated(text)
    assert "        IamRole: {Role: !Ref AppRole, Profile: {LogicalId: Profile}}  # as the launch" in migrated
    assert "# the profile, by its ARN" in migrated and "# by name, in flow style" in migrated


def test_comments_of_a_flow_style_resources_mapping_and_of_the_removed_profile_are_kept() -> None:
    text = """\
Resources: {
  # the role
  AppRole: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}},
  # the profile
  Profile: {Type: AWS::IAM::InstanceProfile, Properties: {
    Roles: [!Ref AppRole]  # one role
  }},  # the profile ends
  # the instance
  Web: {Type: AWS::EC2::Instance, Properties: {ImageId: ami-1, IamInstanceProfile: !Ref Profile}}  # last
}
"""
    migrated = _migrated(text)
    assert "  # the profile ends\n  # the instance\n  Web:" in migrated
    assert "Profile:" not in migrated.replace("Profile: {LogicalId", "")


def test_the_last_member_of_a_flow_mapping_goes_with_the_comma_before_it() -> None:
    text = """\
Resources: {
  AppRole: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}},  # the role
  Web: {Type: AWS::EC2::Instance, Properties: {IamInstanceProfile: !Ref Profile}},
  # the profile, last
  Profile: {Type: AWS::IAM::InstanceProfile, Properties: {Roles: [!Ref AppRole]}}
}
"""
    migrated = _migrated(text)
    assert "Properties: {IamRole: {Role: !Ref AppRole, Profile: {LogicalId: Profile}}}}\n" in migrated


# -- the form the author wrote, and DependsOn ---------------------------------------------------------


def test_a_launch_templates_name_form_is_kept() -> None:
    text = LAUNCH_TEMPLATE + "        IamInstanceProfile: {Name: !Ref Profile}\n"
    migrated = _migrated(text)
    assert "IamRole: {Role: !Ref AppRole, Profile: {LogicalId: Profile, Form: Name}}" in migrated
    expanded = expand(decode(migrated).plain)
    data = expanded["Resources"]["Template"]["Properties"]["LaunchTemplateData"]
    assert data == {"IamInstanceProfile": {"Name": {"Ref": "Profile"}}}


@pytest.mark.parametrize(
    ("depends_on", "left"),
    [
        # A comment of what goes stays, on a line of its own.
        ("    DependsOn: Profile  # the profile first\n", "    # the profile first\n"),
        ("    DependsOn: [Profile, Other]\n", "    DependsOn: [Other]\n"),
        ("    DependsOn: [Other, Profile]\n", "    DependsOn: [Other]\n"),
        (
            "    DependsOn:\n      - Profile  # implied\n      - Other\n",
            "    DependsOn:\n      # implied\n      - Other\n",
        ),
    ],
)
def test_a_depends_on_the_sites_reference_implies_goes(depends_on: str, left: str) -> None:
    other = "  Other:\n    Type: AWS::SNS::Topic\n"
    # The profile's own DependsOn on its role is implied by its Roles.
    profile = PROFILE.replace(
        "    Type: AWS::IAM::InstanceProfile\n",
        "    Type: AWS::IAM::InstanceProfile\n    DependsOn: AppRole\n",
    )
    web = INSTANCE.replace("    Type: AWS::EC2::Instance\n", "    Type: AWS::EC2::Instance\n" + depends_on)
    migrated = _migrated("Resources:\n" + ROLE + other + profile + web)
    expected_web = INSTANCE.replace("    Type: AWS::EC2::Instance\n", "    Type: AWS::EC2::Instance\n" + left)
    expected_web = expected_web.replace("!Ref Profile", "{Role: !Ref AppRole, Profile: {LogicalId: Profile}}")
    expected_web = expected_web.replace("IamInstanceProfile:", "IamRole:")
    assert expected_web in migrated


def test_a_depends_on_in_json_goes_with_its_comma() -> None:
    text = """\
{
  "Resources": {
    "AppRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    "Profile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}},
    "Web": {
      "Type": "AWS::EC2::Instance",
      "DependsOn": "Profile",
      "Properties": {"IamInstanceProfile": {"Ref": "Profile"}}
    }
  }
}
"""
    migrated = _migrated(text)
    assert '      "Type": "AWS::EC2::Instance",\n      "Properties":' in migrated


# -- --keep-references --------------------------------------------------------------------------------


def test_keep_references_converts_a_profile_named_by_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "Resources:\n" + ROLE + PROFILE + INSTANCE + "Outputs:\n  Arn:\n    Value: !GetAtt Profile.Arn\n"
    source = _write(tmp_path, text)
    assert main(["migrate", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out == text
    assert "kept Profile: it is referenced from Outputs (Outputs.Arn.Value)" in captured.err
    assert main(["migrate", "--keep-references", str(source)]) == 0
    migrated = capsys.readouterr().out
    assert "IamRole: {Role: !Ref AppRole, Profile: {LogicalId: Profile}}" in migrated
    assert migrated.endswith("Outputs:\n  Arn:\n    Value: !GetAtt Profile.Arn\n")
    assert _migrated(text, keep_references=True) == migrated


# -- never a traceback, never a wrong write -------------------------------------------------------------


@pytest.mark.parametrize("written", ["~", "null", "", "[]"])
def test_a_transform_listing_nothing_becomes_profile_expand(written: str) -> None:
    text = f"Transform: {written}\n".replace(" \n", "\n") + "Resources:\n" + ROLE + PROFILE + INSTANCE
    migrated = _migrated(text)
    assert transform_items(decode(migrated).plain) == ["ProfileExpand"]


def test_the_self_check_compares_the_transform() -> None:
    assert transform_problems({"Transform": None}, {"Transform": [None, "ProfileExpand"]}) == [
        "its Transform is [None, 'ProfileExpand'], not ['ProfileExpand']"
    ]
    assert transform_problems({"Transform": "AWS::Serverless-2016-10-31"}, {"Transform": "ProfileExpand"})
    assert transform_problems({}, {"Transform": "ProfileExpand"}) == []


# Removing the profile would remove the anchor that the policy's alias uses.
ANCHORED = (
    "Resources:\n"
    + ROLE
    + PROFILE.replace("Roles: [!Ref AppRole]", "Roles: &roles [!Ref AppRole]")
    + INSTANCE
    + """\
  Policy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: p
      PolicyDocument: {Version: "2012-10-17", Statement: []}
      Roles: *roles
"""
)


def test_an_anchor_an_alias_elsewhere_uses_keeps_the_profile_and_blames_no_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path, ANCHORED)
    assert main(["migrate", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ANCHORED
    assert (
        "kept Profile: the file's layout does not allow its edit (the anchor &roles at line 9 is in text it "
        "removes or rewrites, and the alias *roles at line 20 uses it)"
    ) in captured.err
    assert not re.search(rf"{re.escape(str(source))}:\d+:\d+:", captured.err), captured.err


def test_an_edit_that_would_not_read_back_is_caught_and_blamed_on_no_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The net under every edit: with the anchor check off, the edited text itself fails to read back.
    monkeypatch.setattr("profile_expand.cli.migrate_source._check_anchors", lambda text, edits: None)
    source = _write(tmp_path, ANCHORED)
    assert main(["migrate", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ANCHORED
    assert "kept Profile: its edit would not read back (" in captured.err
    assert "undefined alias" in captured.err
    assert not re.search(rf"{re.escape(str(source))}:\d+:\d+:", captured.err), captured.err


def test_two_profiles_that_convert_alone_but_not_together_are_no_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = PROFILE.replace("      Roles:", "      InstanceProfileName: web\n      Roles:")
    text = (
        "Conditions:\n  A: !Equals [a, b]\n  B: !Equals [a, c]\nResources:\n"
        + ROLE
        + named.replace(
            "    Type: AWS::IAM::InstanceProfile\n", "    Type: AWS::IAM::InstanceProfile\n    Condition: A\n"
        )
        + named.replace("  Profile:", "  Second:").replace(
            "    Type: AWS::IAM::InstanceProfile\n", "    Type: AWS::IAM::InstanceProfile\n    Condition: B\n"
        )
        + INSTANCE.replace(
            "    Type: AWS::EC2::Instance\n", "    Type: AWS::EC2::Instance\n    Condition: A\n"
        )
        + INSTANCE.replace("  Web:", "  Api:")
        .replace("!Ref Profile", "!Ref Second")
        .replace("    Type: AWS::EC2::Instance\n", "    Type: AWS::EC2::Instance\n    Condition: B\n")
    )
    source = _write(tmp_path, text)
    assert main(["migrate", str(source)]) == 0
    err = capsys.readouterr().err
    assert "converted Profile:" in err
    assert "kept Second: it converts alone, but not together with Profile: the macro would reject it" in err
    assert "1 profile(s) converted, 1 kept" in err


def test_a_tab_before_a_comment_which_ruamel_yaml_refuses_is_edited_all_the_same() -> None:
    text = "Resources:\n" + ROLE + PROFILE + INSTANCE.replace("ImageId: ami-1", "ImageId: ami-1\t# tabbed")
    migrated = _migrated(text)
    assert "      ImageId: ami-1\t# tabbed\n" in migrated


def test_a_layout_ruamel_yaml_cannot_read_is_refused_at_its_place_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # NEL (U+0085) ends a line for the template loader, not for ruamel.yaml, which migrate edits with.
    text = (
        "Resources:\n"
        + ROLE
        + PROFILE
        + INSTANCE.replace("ImageId: ami-1\n      ", "ImageId: ami-1\u0085      ")
    )
    source = _write(tmp_path, text)
    assert main(["migrate", str(source)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.match(
        rf"{re.escape(str(source))}:\d+:\d+: cannot edit this file: .* which migrate's YAML editor \(ruamel.yaml\) "
        "does not read; nothing written\n$",
        captured.err,
    ), captured.err


def test_what_it_says_of_a_conversion_names_the_forms_kept_and_the_depends_on_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = INSTANCE.replace(
        "    Type: AWS::EC2::Instance\n", "    Type: AWS::EC2::Instance\n    DependsOn: Profile\n"
    )
    text = LAUNCH_TEMPLATE + "        IamInstanceProfile: {Name: !Ref Profile}\n" + web
    assert main(["migrate", str(_write(tmp_path, text))]) == 0
    assert (
        "converted Profile: IamRole at Template.Properties.LaunchTemplateData.IamInstanceProfile (Form Name), "
        "Web.Properties.IamInstanceProfile (LogicalId Profile); removed from the DependsOn of Web, which names "
        "it anyway\n"
    ) in capsys.readouterr().err
