"""cfn-lint integration: the ProfileExpand rules (E9001, E9002, W9001, W9002) and the schema override.

Fixtures follow cfn-lint's own tests: tests/fixtures/lint/templates/good/* lint clean, and each line of
bad/* that should report ends with a `# <rule ids>` comment naming every rule expected there. Per-site
cases are generated from SITES, so a new row of the table is covered without writing a template.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint import schema as cfnlint_schema
from cfnlint.api import ManualArgs, lint
from cfnlint.core import get_rules
from cfnlint.helpers import REGIONS, create_rules, load_plugins
from cfnlint.rules import Match, RulesCollection

import profile_expand.lint.rules
from profile_expand import InvalidTemplateError, expand_with_report
from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, SiteKind
from profile_expand.lint.override_spec import (
    SHIPPED_FILE,
    OverrideSpecError,
    build_override_spec,
    render_override_spec,
)
from profile_expand.lint.rules import RULES_DIR
from tests.cfnlint_support import region_for
from tests.support import ROOT, TESTS

pytestmark = pytest.mark.integration

FIXTURES = TESTS / "fixtures" / "lint" / "templates"
OVERRIDE = str(SHIPPED_FILE)
OUR_RULE_IDS = {
    "E9001",
    "E9002",
    "E9003",
    "E9004",
    "E9005",
    "E9006",
    "E9007",
    "E9008",
    "W9001",
    "W9002",
    "W9003",
    "W9004",
}
PROPERTY_SITES = [site for site in SITES if site.kind is SiteKind.PROPERTY]
_MARKER = re.compile(r"#\s*([EWI]\d{4}(?:\s+[EWI]\d{4})*)")

ROLE, PROFILE, PARAMETER, CONDITION = "AppRole", "AppProfile", "ProfileName", "UseProfile"
ROLE_ARN = "arn:aws:iam::123456789012:role/app-role"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/app-role"


def _join(kind: str) -> dict[str, Any]:
    parts = ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, f":{kind}/app-role"]
    return {"Fn::Join": ["", parts]}


def _sub(kind: str) -> dict[str, Any]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/app-role"}


# Each mistake: (value, path below the value where E9001 points, the correct value of the same shape).
MISTAKES: dict[str, tuple[Any, tuple[str | int, ...], Any]] = {
    "RefRole": ({"Ref": ROLE}, (), {"Ref": PROFILE}),
    "GetAttRole": ({"Fn::GetAtt": [ROLE, "Arn"]}, (), {"Fn::GetAtt": [PROFILE, "Arn"]}),
    "GetAttRoleDotted": ({"Fn::GetAtt": f"{ROLE}.Arn"}, (), {"Fn::GetAtt": f"{PROFILE}.Arn"}),
    "SubOfRole": ({"Fn::Sub": f"${{{ROLE}.Arn}}"}, (), {"Fn::Sub": f"${{{PROFILE}.Arn}}"}),
    "RoleArn": (ROLE_ARN, (), PROFILE_ARN),
    "GovRoleArn": ("arn:aws-us-gov:iam::123456789012:role/ops/app-role", (), PROFILE_ARN),
    "SubRoleArn": (_sub("role"), (), _sub("instance-profile")),
    "JoinRoleArn": (_join("role"), (), _join("instance-profile")),
    "IfBranch": (
        {"Fn::If": [CONDITION, {"Ref": PROFILE}, {"Ref": ROLE}]},
        ("Fn::If", 2),
        {"Fn::If": [CONDITION, {"Ref": PROFILE}, {"Ref": "AWS::NoValue"}]},
    ),
}
# The forms that point at a role of the template (E9001's message then names the role).
TEMPLATE_ROLE_FORMS = {"RefRole", "GetAttRole", "GetAttRoleDotted", "SubOfRole", "IfBranch"}
CORRECT_FORMS: dict[str, Any] = {
    "RefProfile": {"Ref": PROFILE},
    "GetAttProfile": {"Fn::GetAtt": [PROFILE, "Arn"]},
    "ProfileName": "app-profile",
    "ProfileArn": PROFILE_ARN,
    "Parameter": {"Ref": PARAMETER},
    "Import": {"Fn::ImportValue": "network-InstanceProfile"},
    "SubProfileArn": _sub("instance-profile"),
    "JoinProfileArn": _join("instance-profile"),
    "IfProfiles": {"Fn::If": [CONDITION, {"Ref": PROFILE}, {"Ref": "AWS::NoValue"}]},
}
# The forms that are right only where the property takes a name, or only where it takes an ARN.
NAME_ONLY_FORMS = {"RefProfile", "ProfileName", "IfProfiles"}
ARN_ONLY_FORMS = {"GetAttProfile", "ProfileArn", "SubProfileArn", "JoinProfileArn"}


# -- building templates from the sites table --------------------------------------------------------------


def base_template(*, transform: bool) -> dict[str, Any]:
    template: dict[str, Any] = {}
    if transform:
        template["Transform"] = "ProfileExpand"
    template["Parameters"] = {PARAMETER: {"Type": "String", "Default": "app-profile"}}
    template["Conditions"] = {CONDITION: {"Fn::Equals": [{"Ref": PARAMETER}, "app-profile"]}}
    template["Resources"] = {
        ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        PROFILE: {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": ROLE}]}},
    }
    return template


def site_resource(site: Site, entries: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """A resource of the site's type with `entries` (key -> value) written where the site reads them.

    Returns the resource and, per key, the path below the resource of the value (for option settings:
    of the entry's Value; the entry's OptionName is one step beside it).
    """
    container_path = tuple(0 if step == EACH else step for step in site.container)
    paths: dict[str, tuple[Any, ...]] = {}
    leaf: Any
    if site.kind is SiteKind.OPTION_SETTING:
        leaf = []
        for position, (key, value) in enumerate(entries.items()):
            leaf.append({"Namespace": site.option_namespace, "OptionName": key, "Value": value})
            paths[key] = (*container_path, position, "Value")
    else:
        leaf = dict(entries)
        paths = {key: (*container_path, key) for key in entries}
    for step in reversed(site.container):
        leaf = [leaf] if step == EACH else {step: leaf}
    return {"Type": site.resource_type, **leaf}, paths


def object_keys(site: Site) -> list[str | None]:
    """How a value is wrapped on this site: in {Arn: ...} / {Name: ...} for object forms, else bare."""
    keys: list[str | None] = [
        key
        for key, form in (("Arn", ProfileForm.ARN_OBJECT), ("Name", ProfileForm.NAME_OBJECT))
        if form in site.accepts
    ]
    return keys or [None]


def wrapped(value: Any, key: str | None) -> Any:
    return {key: value} if key else value


def forms_template(
    site: Site, forms: dict[str, Any], *, transform: bool = False
) -> tuple[dict[str, Any], dict[str, tuple[str, tuple[Any, ...]]]]:
    """One resource per (form, object key); returns the template and, per logical ID, the form's name
    and the path of its value from the template root."""
    template = base_template(transform=transform)
    where: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for name, value in forms.items():
        for key in object_keys(site):
            logical_id = f"{name}{key or ''}"
            resource, paths = site_resource(site, {site.profile_property: wrapped(value, key)})
            template["Resources"][logical_id] = resource
            path = ("Resources", logical_id, *paths[site.profile_property], *([key] if key else []))
            where[logical_id] = (name, path)
    return template, where


# -- running cfn-lint --------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def pristine_schemas() -> Iterator[None]:
    """Schema patches are process-wide in cfn-lint: start and end this module without any."""
    cfnlint_schema.reset()
    yield
    cfnlint_schema.reset()


@pytest.fixture(scope="module")
def with_rules() -> RulesCollection:
    """cfn-lint's rules plus ours, loaded once through cfn-lint's API from the rules directory."""
    return get_rules([str(RULES_DIR)], [], [])


@pytest.fixture(scope="module")
def plain_rules() -> RulesCollection:
    return get_rules([], [], [])


def run(template: dict[str, Any], rules: RulesCollection, *, override: bool = False) -> list[Match]:
    region = region_for(template)
    if override:
        cfnlint_schema.patch(OVERRIDE, [region])
    try:
        return list(lint(json.dumps(template, indent=1), rules=rules, regions=[region]))
    finally:
        # Patches are process-wide, and our rules apply the override spec themselves (without
        # --override-spec too): the next run starts from cfn-lint's own schemas.
        cfnlint_schema.reset()


def found(matches: list[Match], rule_id: str) -> dict[tuple[Any, ...], str]:
    return {tuple(match.path): match.message for match in matches if match.rule.id == rule_id}


def ours(matches: list[Match]) -> list[Match]:
    return [match for match in matches if match.rule.id in OUR_RULE_IDS]


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def assert_only_macro_warnings(template: dict[str, Any], matches: list[Match]) -> None:
    """Of our rules, only W9002 reports, with exactly the warnings the macro gives for this template
    (a service's role naming rule, for example)."""
    assert [m.rule.id for m in ours(matches) if m.rule.id != "W9002"] == []
    warnings = expand_with_report(_plain(template)).warnings
    assert found(matches, "W9002") == {("Resources", w.logical_id, *w.path): str(w) for w in warnings}


def site_id(site: Site) -> str:
    return site.slug


# -- E9001 on every site ----------------------------------------------------------------------------------


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_e9001_reports_every_mistake_form_on_every_site(site: Site, with_rules: RulesCollection) -> None:
    template, where = forms_template(site, {name: value for name, (value, _, _) in MISTAKES.items()})
    reported = found(run(template, with_rules), "E9001")

    expected = {(*path, *MISTAKES[form][1]): form for form, path in where.values()}
    assert set(reported) == set(expected)
    for path, form in expected.items():
        message = reported[path]
        if form in TEMPLATE_ROLE_FORMS:
            shorthand = "IamRole, Value: " if site.kind is SiteKind.OPTION_SETTING else "IamRole: "
            assert f"is role {ROLE}" in message and f"{shorthand}!Ref {ROLE}" in message, message
        else:
            assert "role ARN" in message and "instance-profile" in message, message
        assert "Transform: ProfileExpand" in message and "AWS::IAM::InstanceProfile" in message


def correct_forms_template(site: Site) -> dict[str, Any]:
    """Every correct form of a profile reference on the site: each form under each key it is right for,
    with the profile and role named as the site's naming rules require."""
    template = base_template(transform=False)
    resources = template["Resources"]
    prefix = site.profile_name_prefix or ""
    resources[PROFILE]["Properties"]["InstanceProfileName"] = f"{prefix}app-profile"
    if site.role_name_rule:
        resources[ROLE]["Properties"]["RoleName"] = f"{site.role_name_rule.name_prefixes[0]}-app-role"
    keys: list[tuple[str | None, tuple[ProfileForm, ...]]] = [
        (key, (form,))
        for key, form in (("Arn", ProfileForm.ARN), ("Name", ProfileForm.NAME))
        if key in object_keys(site)
    ] or [(None, site.accepts)]
    for name, value in CORRECT_FORMS.items():
        for key, takes in keys:
            if name in NAME_ONLY_FORMS and ProfileForm.NAME not in takes:
                continue
            if name in ARN_ONLY_FORMS and ProfileForm.ARN not in takes:
                continue
            if isinstance(value, str):
                value = value.replace("app-profile", f"{prefix}app-profile")
            resources[f"{name}{key or ''}"], _ = site_resource(
                site, {site.profile_property: wrapped(value, key)}
            )
            if isinstance(value, str):
                # A literal name or ARN of the template's profile is correct once ordered after it (W9004).
                resources[f"{name}{key or ''}"]["DependsOn"] = PROFILE
    return template


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_rules_stay_silent_on_correct_forms(site: Site, with_rules: RulesCollection) -> None:
    assert [m.message for m in ours(run(correct_forms_template(site), with_rules))] == []


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_plain_cfn_lint_does_not_report_the_mistakes(site: Site, plain_rules: RulesCollection) -> None:
    """What cfn-lint 1.58 says without our rules: the issue states nothing; this checks it per site.

    A mistake and its correct twin (same shape, a profile in place of the role) must get the same
    findings at the property. The one exception seen: where the schema pins an ARN pattern
    (AWS::PCS::ComputeNodeGroup's `:instance-profile/`), cfn-lint's pattern checks (E3031, W1031, W1032)
    fire on literal or built role ARNs, without saying that a role was given. Ref and GetAtt of a
    role pass everywhere.
    """
    bad, where = forms_template(site, {name: value for name, (value, _, _) in MISTAKES.items()})
    good, _ = forms_template(site, {name: twin for name, (_, _, twin) in MISTAKES.items()})

    def at_sites(matches: list[Match]) -> set[tuple[str, str]]:
        """(rule id, form) of each finding in a value under test."""
        return {
            (match.rule.id, form)
            for match in matches
            for form, path in where.values()
            if tuple(match.path[: len(path)]) == path
        }

    new = at_sites(run(bad, plain_rules)) - at_sites(run(good, plain_rules))
    role_forms = {(rule, form) for rule, form in new if form in TEMPLATE_ROLE_FORMS}
    assert not role_forms, f"cfn-lint now reports a role reference in a profile property: {role_forms}"
    assert {rule for rule, _ in new} <= {"E3031", "W1031", "W1032"}, new


MALFORMED: dict[str, Any] = {
    "RefOfMapping": {"Ref": {"Ref": ROLE}},
    "GetAttOfMapping": {"Fn::GetAtt": [{"Ref": ROLE}, "Arn"]},
    "GetAttNoDot": {"Fn::GetAtt": ROLE},
    "SubOneItem": {"Fn::Sub": ["${AppRole}"]},
    "SubBadVariables": {"Fn::Sub": ["${AppRole}", ["AppRole"]]},
    "JoinNotAList": {"Fn::Join": ["", "arn:aws:iam::1:role/x"]},
    "IfTwoItems": {"Fn::If": [CONDITION, {"Ref": ROLE}]},
    "IfNotAList": {"Fn::If": "UseProfile"},
    "Number": 5,
    "Null": None,
    "List": [{"Ref": ROLE}],
}


@pytest.mark.parametrize("transform", [False, True], ids=["plain", "transform"])
@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_rules_never_crash_on_malformed_values(
    site: Site, transform: bool, with_rules: RulesCollection
) -> None:
    """cfn-lint turns an exception in a rule into E0002; our rules must answer every shape without one."""
    template, _ = forms_template(site, MALFORMED, transform=transform)
    for name, value in MALFORMED.items():
        template["Resources"][f"Shorthand{name}"], _ = site_resource(site, {"IamRole": value})
    # Containers of the wrong shape at each step: a string, or a Fn::If of a mapping and a list.
    for position, step in enumerate(site.container[1:], start=1):
        resource, _ = site_resource(site, {"IamRole": {"Ref": ROLE}})
        parent = resource
        for above in site.container[:position]:
            parent = parent[0] if above == EACH else parent[above]
        bad: Any = "not-a-container" if position % 2 else {"Fn::If": [CONDITION, {}, []]}
        if step == EACH:
            parent[0] = bad
        else:
            parent[step] = bad
        template["Resources"][f"Container{position}"] = resource
    crashes = [m.message for m in run(template, with_rules) if m.rule.id == "E0002"]
    assert crashes == []


# -- W9001, W9002, E9002 on every site --------------------------------------------------------------------


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_w9001_shorthand_without_the_transform(site: Site, with_rules: RulesCollection) -> None:
    resource, paths = site_resource(site, {"IamRole": {"Ref": ROLE}})
    key_path = (
        (*paths["IamRole"][:-1], "OptionName") if site.kind is SiteKind.OPTION_SETTING else paths["IamRole"]
    )

    without = base_template(transform=False)
    without["Resources"]["Subject"] = resource
    reported = found(run(without, with_rules), "W9001")
    assert list(reported) == [("Resources", "Subject", *key_path)]
    assert "Transform: ProfileExpand" in next(iter(reported.values()))

    with_transform = base_template(transform=True)
    with_transform["Resources"]["Subject"] = resource
    assert_only_macro_warnings(with_transform, run(with_transform, with_rules))


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_under_the_transform_a_role_the_macro_rewrites_is_w9002_not_e9001(
    site: Site, with_rules: RulesCollection
) -> None:
    template, _ = forms_template(site, {"RefRole": {"Ref": ROLE}}, transform=True)
    # A role the site's naming rule accepts (RDS Custom): the macro's profile for it must deploy.
    prefix = f"{site.role_name_rule.name_prefixes[0]}-" if site.role_name_rule else ""
    role_arn = ROLE_ARN.replace("role/", f"role/{prefix}")
    arn_template, arn_where = forms_template(site, {"RoleArn": role_arn}, transform=True)
    template["Resources"].update({lid: arn_template["Resources"][lid] for lid in arn_where})
    arn_paths = {path for _, path in arn_where.values()}

    matches = run(template, with_rules)
    expansion = expand_with_report(_plain(template))  # what the macro answers for this template
    assert expansion.warnings, "the macro warns when it rewrites a role in a profile property"
    assert found(matches, "W9002") == {
        ("Resources", w.logical_id, *w.path): str(w) for w in expansion.warnings
    }
    # Issue 23: a literal role ARN is rewritten as a role of the template is (a profile holding it).
    assert arn_paths
    assert found(matches, "E9001") == {}
    assert found(matches, "E9002") == {}


@pytest.mark.parametrize("site", SITES, ids=site_id)
def test_e9002_reports_what_the_macro_rejects_in_its_words(site: Site, with_rules: RulesCollection) -> None:
    template = base_template(transform=True)
    template["Resources"]["Typo"], typo_paths = site_resource(site, {"IamRole": "AppRol"})
    template["Resources"]["Both"], _ = site_resource(
        site,
        {site.profile_property: wrapped({"Ref": PROFILE}, object_keys(site)[0]), "IamRole": {"Ref": ROLE}},
    )

    with pytest.raises(InvalidTemplateError) as raised:
        expand_with_report(_plain(template))
    expected = {("Resources", e.logical_id, *e.path): str(e) for e in raised.value.errors}
    reported = found(run(template, with_rules), "E9002")
    assert reported == expected
    assert "Did you mean AppRole?" in reported[("Resources", "Typo", *typo_paths["IamRole"])]
    assert any(path[1] == "Both" and "both IamRole and" in message for path, message in reported.items())


# -- the schema override ----------------------------------------------------------------------------------


def shorthand_template(site: Site, key: str = "IamRole") -> tuple[dict[str, Any], tuple[Any, ...]]:
    template = base_template(transform=True)
    template["Resources"]["Subject"], paths = site_resource(site, {key: {"Ref": ROLE}})
    return template, ("Resources", "Subject", *paths[key])


def _mentions(matches: list[Match], *words: str) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in matches if any(repr(word) in m.message for word in words)]


@pytest.mark.parametrize("site", PROPERTY_SITES, ids=site_id)
def test_plain_cfn_lint_rejects_the_shorthand(site: Site, plain_rules: RulesCollection) -> None:
    template, path = shorthand_template(site)
    assert "E3002" in {m.rule.id for m in run(template, plain_rules) if tuple(m.path) == path}


@pytest.mark.parametrize("site", PROPERTY_SITES, ids=site_id)
def test_the_rules_teach_cfn_lint_the_shorthand_without_the_override_spec(
    site: Site, with_rules: RulesCollection
) -> None:
    """A .cfnlintrc naming only the rules module works on any machine: no override spec path needed."""
    template, path = shorthand_template(site)
    assert "E3002" not in {m.rule.id for m in run(template, with_rules) if tuple(m.path) == path}
    misspelled, path = shorthand_template(site, key="IamRoel")
    assert "E3002" in {m.rule.id for m in run(misspelled, with_rules) if tuple(m.path) == path}


@pytest.mark.parametrize("site", PROPERTY_SITES, ids=site_id)
def test_override_spec_accepts_the_shorthand(site: Site, with_rules: RulesCollection) -> None:
    template, _ = shorthand_template(site)
    matches = run(template, with_rules, override=True)
    assert _mentions(matches, "IamRole", site.profile_property) == []
    assert_only_macro_warnings(template, matches)


@pytest.mark.parametrize("site", PROPERTY_SITES, ids=site_id)
def test_override_spec_still_catches_a_misspelled_shorthand(site: Site, with_rules: RulesCollection) -> None:
    template, path = shorthand_template(site, key="IamRoel")
    misspelled = [m for m in run(template, with_rules, override=True) if tuple(m.path) == path]
    assert [m.rule.id for m in misspelled] == ["E3002"]
    assert "Did you mean 'IamRole'?" in misspelled[0].message


@pytest.mark.parametrize("site", PROPERTY_SITES, ids=site_id)
def test_override_spec_requires_the_profile_property_or_iam_role(
    site: Site, with_rules: RulesCollection
) -> None:
    """Where the schema requires the profile property, IamRole may replace it, and one of them is required."""
    template = base_template(transform=True)
    template["Resources"]["Subject"], _ = site_resource(site, {})
    container = ("Resources", "Subject", *(0 if step == EACH else step for step in site.container))
    required = any(
        op["path"].endswith("/requiredOr") and op["value"] == [site.profile_property, "IamRole"]
        for op in build_override_spec([site])["Patches"][site.resource_type]
    )
    at_container = [m for m in run(template, with_rules, override=True) if tuple(m.path) == container]
    about_profile = [m for m in at_container if repr(site.profile_property) in m.message]
    assert [m.rule.id for m in about_profile] == (["E3058"] if required else [])
    if required:
        assert "IamRole" in about_profile[0].message


def test_shipped_override_spec_is_generated_from_the_table() -> None:
    assert SHIPPED_FILE.read_text(encoding="utf-8") == render_override_spec(), (
        "run scripts/generate_override_spec.py and review the diff"
    )


def test_override_spec_patches_every_region_cleanly() -> None:
    """cfn-lint exits when a patch does not apply; every region's schemas must take it."""
    try:
        cfnlint_schema.patch(OVERRIDE, REGIONS)
    finally:
        cfnlint_schema.reset()


@pytest.mark.parametrize(
    ("resource_type", "container", "profile_property", "complaint"),
    [
        ("AWS::EC2::Instance", ("Properties", "Nope"), "IamInstanceProfile", "'Nope'"),
        (
            "AWS::EC2::Instance",
            ("Properties",),
            "IamInstanceProfiles",
            "IamInstanceProfiles is not a property",
        ),
        ("AWS::Example::NotAType", ("Properties",), "IamInstanceProfile", "no schema"),
    ],
)
def test_override_spec_generation_refuses_a_row_the_schemas_do_not_have(
    resource_type: str, container: tuple[str, ...], profile_property: str, complaint: str
) -> None:
    """A table row that cfn-lint's schema does not match stops the generator (no silent no-op patch)."""
    row = Site(
        slug="example",
        resource_type=resource_type,
        container=container,
        profile_property=profile_property,
        writes=ProfileForm.NAME,
        accepts=(ProfileForm.NAME,),
    )
    with pytest.raises(OverrideSpecError, match=re.escape(complaint)):
        build_override_spec([row])


def test_every_property_site_gets_iam_role_in_the_override() -> None:
    patches = json.loads(SHIPPED_FILE.read_text())["Patches"]
    for site in PROPERTY_SITES:
        assert any(
            op["op"] == "add" and op["path"].endswith("/properties/IamRole")
            for op in patches[site.resource_type]
        )


# -- fixtures, loading, and the command line ---------------------------------------------------------------


def expected_markers(path: Path) -> set[tuple[str, int]]:
    expected = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        marker = _MARKER.search(line)
        if marker:
            expected.update((rule_id, number) for rule_id in marker.group(1).split())
    return expected


def fixtures(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.yaml"))


def lint_as_users_do(path: Path, append_rules: str = str(RULES_DIR)) -> list[Match]:
    """cfnlint.api.lint with the rules and the override spec given as a user's configuration would."""
    config = ManualArgs(regions=["us-east-1"], append_rules=[append_rules], override_spec=OVERRIDE)  # type: ignore[typeddict-unknown-key]
    try:
        return list(lint(path.read_text(), config=config))
    finally:
        cfnlint_schema.reset()


@pytest.mark.parametrize("path", fixtures("good"), ids=lambda p: p.stem)
def test_good_fixture_lints_clean(path: Path) -> None:
    assert [f"{m.rule.id}:{m.linenumber} {m.message}" for m in lint_as_users_do(path)] == []


@pytest.mark.parametrize("path", fixtures("bad"), ids=lambda p: p.stem)
def test_bad_fixture_reports_exactly_the_marked_lines(path: Path) -> None:
    assert expected_markers(path), "a bad fixture marks at least one line"
    assert {(m.rule.id, m.linenumber) for m in lint_as_users_do(path)} == expected_markers(path)


def test_rules_load_by_module_name_too() -> None:
    path = FIXTURES / "bad" / "role_where_profile_expected.yaml"
    by_module = {(m.rule.id, m.linenumber) for m in lint_as_users_do(path, "profile_expand.lint.rules")}
    assert by_module == expected_markers(path)


def test_rules_directory_holds_one_rule_per_file_with_metadata() -> None:
    rules = load_plugins(str(RULES_DIR))  # what `--append-rules <dir>` loads
    rule_files = [p for p in RULES_DIR.glob("*.py") if not p.name.startswith("_")]
    assert len(rules) == len(rule_files)
    assert {rule.id for rule in rules} == OUR_RULE_IDS
    assert {rule.id for rule in create_rules(profile_expand.lint.rules)} == OUR_RULE_IDS
    for rule in rules:
        assert re.fullmatch(r"[EW]9\d{3}", rule.id)
        assert rule.shortdesc and rule.description and rule.tags
        assert rule.source_url == "https://github.com/profile-expand/profile-expand#lint-rules"


def _cfn_lint() -> str:
    command = Path(sys.executable).parent / "cfn-lint"
    return str(command) if command.exists() else shutil.which("cfn-lint") or "cfn-lint"


def _parse(output: str) -> set[tuple[str, int]]:
    """Lines of `--format parseable`: file:line:column:line:column:rule:message."""
    found = set()
    for line in output.splitlines():
        parts = line.split(":", 6)
        if len(parts) == 7:
            found.add((parts[5], int(parts[1])))
    return found


def test_cfn_lint_command_with_append_rules() -> None:
    bad = FIXTURES / "bad" / "role_where_profile_expected.yaml"
    good = FIXTURES / "good" / "shorthand.yaml"
    command = [
        _cfn_lint(),
        "--append-rules",
        str(RULES_DIR),
        "--override-spec",
        OVERRIDE,
        "--format",
        "parseable",
        "--",
    ]
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode & 2, result.stderr  # cfn-lint's bit for "errors found"
    assert _parse(result.stdout) == expected_markers(bad)
    clean = subprocess.run([*command, str(good)], capture_output=True, text=True, check=False)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_a_macro_warning_on_a_resource_hides_no_e9001_there() -> None:
    """Issue 9: a named profile's W9002 (at the resource itself) once hid the role ARN's E9001 beside it."""
    path = FIXTURES / "bad" / "role_beside_a_named_profile.yaml"
    command = [_cfn_lint(), "--append-rules", "profile_expand.lint.rules", "--override-spec", OVERRIDE]
    result = subprocess.run(
        [*command, "--format", "parseable", "--", str(path)], capture_output=True, text=True, check=False
    )
    reported = _parse(result.stdout)
    assert ("E9001", 13) in reported, result.stdout  # Overrides[1].IamInstanceProfile.Arn
    assert reported == expected_markers(path)


def test_cfnlintrc_configures_rules_and_override(tmp_path: Path) -> None:
    (tmp_path / ".cfnlintrc").write_text(
        yaml.safe_dump({"append_rules": ["profile_expand.lint.rules"], "override_spec": OVERRIDE})
    )
    for name in ("bad/role_where_profile_expected.yaml", "good/shorthand.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / Path(name).name)
    bad = subprocess.run(
        [_cfn_lint(), "--format", "parseable", "role_where_profile_expected.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert _parse(bad.stdout) == expected_markers(FIXTURES / "bad" / "role_where_profile_expected.yaml")
    good = subprocess.run(
        [_cfn_lint(), "shorthand.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert (good.returncode, good.stdout) == (0, "")


def test_pre_commit_hook_runs_the_installed_command() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [hook for hook in hooks if hook["id"] == "profile-expand-lint"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert hook["entry"].split()[0] in scripts and hook["entry"].split()[1:] == ["lint"]
    assert hook["language"] == "python"
    files = re.compile(hook["files"])
    assert all(files.search(name) for name in ("stack.yaml", "stack.yml", "stack.json", "stack.template"))
    assert not any(files.search(name) for name in ("app.py", "README.md", "stack.yaml.bak"))
