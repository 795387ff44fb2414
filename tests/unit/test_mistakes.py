"""The instance-profile mistakes (issue 10): one test per (mistake, site) pair that applies, generated from
the sites table, plus the clean cases. Each runs the core's analysis, which the lint rules only filter;
under the transform the certain mistakes are corrected by the macro instead (W9002 and the rewrite).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from profile_expand import expand_with_report
from profile_expand.core.pipeline import analyse
from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, SiteKind

ROLE, PROFILE, PARAMETER, CONDITION = "AppRole", "AppProfile", "ProfileName", "UseProfile"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/app-profile"
EC2 = {"Service": "ec2.amazonaws.com"}


def trust(principal: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def template(site: Site, value: Any, *, key: str | None = None, principal: Any = EC2) -> dict[str, Any]:
    """A template whose resource Use holds `value` at the site (under {key: ...} for object forms), with
    a role and a profile named as the site's rules require (so only the mistake under test shows)."""
    role_properties: dict[str, Any] = {"AssumeRolePolicyDocument": trust(principal)}
    if site.role_name_rule:
        role_properties["RoleName"] = f"{site.role_name_rule.name_prefixes[0]}-app-role"
    profile_name = f"{site.profile_name_prefix or ''}app-profile"
    return {
        "Parameters": {PARAMETER: {"Type": "String"}},
        "Conditions": {CONDITION: {"Fn::Equals": [{"Ref": PARAMETER}, "x"]}},
        "Resources": {
            ROLE: {"Type": "AWS::IAM::Role", "Properties": role_properties},
            PROFILE: {
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [{"Ref": ROLE}], "InstanceProfileName": profile_name},
            },
            "Use": site_resource(site, site.profile_property, {key: value} if key else value),
        },
    }


def site_resource(site: Site, prop: str, value: Any) -> dict[str, Any]:
    leaf: Any
    if site.kind is SiteKind.OPTION_SETTING:
        leaf = [{"Namespace": site.option_namespace, "OptionName": prop, "Value": value}]
    else:
        leaf = {prop: value}
    for step in reversed(site.container):
        leaf = [leaf] if step == EACH else {step: leaf}
    return {"Type": site.resource_type, **leaf}


def value_path(site: Site, prop: str, key: str | None) -> tuple[Any, ...]:
    container = tuple(0 if step == EACH else step for step in site.container)
    if site.kind is SiteKind.OPTION_SETTING:
        return (*container, 0, "Value")
    return (*container, prop, *([key] if key else []))


def slots(site: Site) -> list[tuple[str | None, tuple[ProfileForm, ...]]]:
    """Each place on a site a profile reference goes: the object keys with their form, or the property."""
    objects = [
        ("Arn", ProfileForm.ARN_OBJECT, ProfileForm.ARN),
        ("Name", ProfileForm.NAME_OBJECT, ProfileForm.NAME),
    ]
    keyed = [(key, (plain,)) for key, obj, plain in objects if obj in site.accepts]
    return keyed or [(None, tuple(f for f in site.accepts if f in (ProfileForm.NAME, ProfileForm.ARN)))]


def pairs(takes: ProfileForm) -> list[Any]:
    """(site, key) for every slot that takes exactly one plain form, `takes`."""
    return [
        pytest.param(site, key, id=f"{site.slug}{'-' + key if key else ''}")
        for site in SITES
        for key, forms in slots(site)
        if forms == (takes,)
    ]


def every_slot() -> list[Any]:
    return [
        pytest.param(site, key, id=f"{site.slug}{'-' + key if key else ''}")
        for site in SITES
        for key, _ in slots(site)
    ]


def codes(model_findings: Any) -> list[tuple[str, str, tuple[Any, ...]]]:
    return sorted((f.code, f.logical_id, f.path) for f in model_findings)


def corrected(source: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The macro's result (the template is given the transform) and its warnings."""
    expansion = expand_with_report({"Transform": "ProfileExpand", **copy.deepcopy(source)})
    return expansion.template, [str(w) for w in expansion.warnings]


def at(resource: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = resource
    for step in path:
        node = node[step]
    return node


SUB_BUILT_ARN = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/app-profile"}
JOIN_BUILT_ARN = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":instance-profile/x"],
    ]
}

# A profile ARN where a name belongs: (value, what the macro writes, or None when it is not certain).
ARN_WHERE_NAME: dict[str, tuple[Any, Any]] = {
    "GetAtt": ({"Fn::GetAtt": [PROFILE, "Arn"]}, {"Ref": PROFILE}),
    "GetAttDotted": ({"Fn::GetAtt": f"{PROFILE}.Arn"}, {"Ref": PROFILE}),
    "SubOfProfile": ({"Fn::Sub": f"${{{PROFILE}.Arn}}"}, {"Ref": PROFILE}),
    "LiteralArn": (PROFILE_ARN, "app-profile"),
    "LiteralArnWithPath": ("arn:aws:iam::123456789012:instance-profile/ops/app-profile", "app-profile"),
    "SubBuilt": (SUB_BUILT_ARN, None),
    "JoinBuilt": (JOIN_BUILT_ARN, None),
}
NAME_WHERE_ARN: dict[str, tuple[Any, Any]] = {
    "Ref": ({"Ref": PROFILE}, {"Fn::GetAtt": [PROFILE, "Arn"]}),
    "SubOfProfile": ({"Fn::Sub": f"${{{PROFILE}}}"}, {"Fn::GetAtt": [PROFILE, "Arn"]}),
    "LiteralName": ("some-profile", None),
}


def with_prefix(site: Site, value: Any) -> Any:
    """Literal names carry the site's required prefix, so that only the form is wrong."""
    if isinstance(value, str) and site.profile_name_prefix:
        return value.replace("app-profile", f"{site.profile_name_prefix}app-profile").replace(
            "some-profile", f"{site.profile_name_prefix}some-profile"
        )
    return value


@pytest.mark.parametrize("form", ARN_WHERE_NAME, ids=str)
@pytest.mark.parametrize(("site", "key"), pairs(ProfileForm.NAME))
def test_e9003_profile_arn_where_a_name_belongs(site: Site, key: str | None, form: str) -> None:
    value, fix = (with_prefix(site, v) for v in ARN_WHERE_NAME[form])
    source = template(site, value, key=key)
    path = value_path(site, site.profile_property, key)
    assert codes(analyse(source, transform_declared=False).findings) == [("E9003", "Use", path)]
    message = next(f for f in analyse(source, transform_declared=False).findings).lint_text()
    assert message.startswith("Resource Use, ") and "takes an instance profile name: write `" in message
    result, warnings = corrected(source)
    model = analyse({"Transform": "ProfileExpand", **source})
    if fix is None:  # built by an intrinsic: left as written, reported
        assert codes(model.findings) == [("E9003", "Use", path)]
        assert at(result["Resources"]["Use"], path) == value
    else:
        assert codes(model.findings) == [("W9002", "Use", path)]
        assert at(result["Resources"]["Use"], path) == fix
        assert len(warnings) == 1 and "ProfileExpand wrote" in warnings[0]


@pytest.mark.parametrize("form", NAME_WHERE_ARN, ids=str)
@pytest.mark.parametrize(("site", "key"), pairs(ProfileForm.ARN))
def test_e9004_profile_name_where_an_arn_belongs(site: Site, key: str | None, form: str) -> None:
    value, fix = NAME_WHERE_ARN[form]
    source = template(site, value, key=key)
    path = value_path(site, site.profile_property, key)
    assert codes(analyse(source, transform_declared=False).findings) == [("E9004", "Use", path)]
    result, _ = corrected(source)
    model = analyse({"Transform": "ProfileExpand", **source})
    expected_code = "E9004" if fix is None else "W9002"
    assert codes(model.findings) == [(expected_code, "Use", path)]
    assert at(result["Resources"]["Use"], path) == (value if fix is None else fix)


@pytest.mark.parametrize(("site", "key"), every_slot())
def test_e9006_a_roles_literal_name_where_a_profile_belongs(site: Site, key: str | None) -> None:
    source = template(site, "my-app-role", key=key)
    source["Resources"][ROLE]["Properties"]["RoleName"] = "my-app-role"
    if site.role_name_rule:  # the site's own rule would also report the name: meet it
        name = f"{site.role_name_rule.name_prefixes[0]}-my-app-role"
        source = template(site, name, key=key)
        source["Resources"][ROLE]["Properties"]["RoleName"] = name
    path = value_path(site, site.profile_property, key)
    findings = analyse(source, transform_declared=False).findings
    assert codes(findings) == [("E9006", "Use", path)]
    shorthand = "IamRole, Value: " if site.kind is SiteKind.OPTION_SETTING else "IamRole: "
    assert f"RoleName of role {ROLE}" in findings[0].message
    assert f"{shorthand}!Ref {ROLE}" in findings[0].message
    # Under the transform nothing is corrected: a name is not certain enough.
    assert "E9006" in {f.code for f in analyse({"Transform": "ProfileExpand", **source}).findings}
    # The same name is fine once a profile of the template has it.
    source["Resources"][PROFILE]["Properties"]["InstanceProfileName"] = at(source["Resources"]["Use"], path)
    assert "E9006" not in {f.code for f in analyse(source, transform_declared=False).findings}


def right_reference(forms: tuple[ProfileForm, ...]) -> Any:
    return {"Ref": PROFILE} if ProfileForm.NAME in forms else {"Fn::GetAtt": [PROFILE, "Arn"]}


LAMBDA = {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize(("site", "key"), every_slot())
def test_e9007_a_used_profiles_role_ec2_cannot_assume(site: Site, key: str | None) -> None:
    forms = dict(slots(site))[key]
    source = template(site, right_reference(forms), key=key, principal=LAMBDA)
    for transform in (False, True):
        model = analyse({"Transform": "ProfileExpand", **source} if transform else source)
        assert codes(model.findings) == [("E9007", ROLE, ("Properties", "AssumeRolePolicyDocument"))]
        assert "instance profile AppProfile (used by Use" in model.findings[0].message
    trusted = template(site, right_reference(forms), key=key)
    assert codes(analyse(trusted, transform_declared=False).findings) == []


@pytest.mark.parametrize("site", SITES, ids=lambda s: s.slug)
def test_e9007_a_role_behind_iam_role_ec2_cannot_assume(site: Site) -> None:
    source = template(site, None, principal=LAMBDA)
    source["Resources"]["Use"] = site_resource(site, "IamRole", {"Ref": ROLE})
    model = analyse({"Transform": "ProfileExpand", **source})
    assert ("E9007", ROLE, ("Properties", "AssumeRolePolicyDocument")) in codes(model.findings)
    assert "IamRole of Use" in next(f.message for f in model.findings if f.code == "E9007")
    # The macro still expands: the trust policy is the author's, and it is only reported.
    assert model.plan is not None


ROLES_ARNS: dict[str, tuple[Any, Any]] = {
    "GetAtt": ({"Fn::GetAtt": [ROLE, "Arn"]}, {"Ref": ROLE}),
    "GetAttDotted": ({"Fn::GetAtt": f"{ROLE}.Arn"}, {"Ref": ROLE}),
    "SubOfRole": ({"Fn::Sub": f"${{{ROLE}.Arn}}"}, {"Ref": ROLE}),
    "LiteralArn": ("arn:aws:iam::123456789012:role/app-role", None),
    "SubBuilt": ({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-role"}, None),
    "JoinBuilt": ({"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":role/app-role"]]}, None),
}


@pytest.mark.parametrize("form", ROLES_ARNS, ids=str)
@pytest.mark.parametrize("in_if", [False, True], ids=["plain", "fn-if"])
def test_e9005_a_profiles_roles_holding_an_arn(form: str, in_if: bool) -> None:
    value, fix = ROLES_ARNS[form]
    entry = {"Fn::If": [CONDITION, {"Ref": ROLE}, value]} if in_if else value
    source = template(SITES[0], {"Ref": PROFILE})
    source["Resources"][PROFILE]["Properties"]["Roles"] = [entry]
    path = ("Properties", "Roles", 0, *(("Fn::If", 2) if in_if else ()))
    assert codes(analyse(source, transform_declared=False).findings) == [("E9005", PROFILE, path)]
    result, _ = corrected(source)
    model = analyse({"Transform": "ProfileExpand", **source})
    assert codes(model.findings) == [("E9005" if fix is None else "W9002", PROFILE, path)]
    assert at(result["Resources"][PROFILE], path) == (value if fix is None else fix)


NAMING_SITES = [s for s in SITES if s.profile_name_prefix or s.role_name_rule]


@pytest.mark.parametrize("site", NAMING_SITES, ids=lambda s: s.slug)
def test_e9008_and_w9003_a_hand_written_profile_breaking_a_naming_rule(site: Site) -> None:
    (key, forms), *_ = slots(site)
    source = template(site, right_reference(forms), key=key)
    resources = source["Resources"]
    if site.role_name_rule_when:  # the rule holds when the infrastructure role carries the policy
        when = site.role_name_rule_when
        resources["Infra"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust({"Service": "ecs.amazonaws.com"}),
                "ManagedPolicyArns": [f"arn:aws:iam::aws:policy/{when.policy_name}"],
            },
        }
        node = resources["Use"]
        for step in when.role_property[:-1]:
            node = node[step]
        node[when.role_property[-1]] = {"Fn::GetAtt": ["Infra", "Arn"]}
    assert codes(analyse(source, transform_declared=False).findings) == []
    expected = []
    if site.profile_name_prefix:
        resources[PROFILE]["Properties"]["InstanceProfileName"] = "db-profile"
        expected.append(("E9008", PROFILE, ("Properties", "InstanceProfileName")))
    if site.role_name_rule:
        resources[ROLE]["Properties"]["RoleName"] = "app-role"
        expected.append(("E9008", ROLE, ("Properties", "RoleName")))
    assert codes(analyse(source, transform_declared=False).findings) == sorted(expected)
    # Names left to CloudFormation: it generates them from the stack name, which may or may not match.
    del resources[PROFILE]["Properties"]["InstanceProfileName"]
    del resources[ROLE]["Properties"]["RoleName"]
    uncertain = []
    if site.profile_name_prefix:
        uncertain.append(("W9003", PROFILE, ("Properties",)))
    if site.role_name_rule:
        uncertain.append(("W9003", ROLE, ("Properties",)))
    assert codes(analyse(source, transform_declared=False).findings) == sorted(uncertain)


def test_rds_custom_literal_profile_name_breaking_the_prefix() -> None:
    (site,) = [s for s in SITES if s.profile_name_prefix]
    source = template(site, "db-profile")
    path = value_path(site, site.profile_property, None)
    assert codes(analyse(source, transform_declared=False).findings) == [("E9008", "Use", path)]


# -- clean cases ------------------------------------------------------------------------------------------

CLEAN_VALUES: dict[str, Any] = {
    "Parameter": {"Ref": PARAMETER},
    "Import": {"Fn::ImportValue": "network-InstanceProfile"},
    "Condition": {"Fn::If": [CONDITION, {"Ref": PARAMETER}, {"Ref": "AWS::NoValue"}]},
    "SubOfParameter": {"Fn::Sub": "${ProfileName}"},
    "FindInMap": {"Fn::FindInMap": ["Profiles", {"Ref": "AWS::Region"}, "Name"]},
}


@pytest.mark.parametrize("value", CLEAN_VALUES, ids=str)
@pytest.mark.parametrize(("site", "key"), every_slot())
def test_no_finding_on_values_the_template_cannot_judge(site: Site, key: str | None, value: str) -> None:
    source = template(site, CLEAN_VALUES[value], key=key)
    for transform in (False, True):
        model = analyse({"Transform": "ProfileExpand", **source} if transform else source)
        assert codes(model.findings) == []


@pytest.mark.parametrize(("site", "key"), every_slot())
def test_no_finding_on_the_right_reference_or_an_existing_profile(site: Site, key: str | None) -> None:
    forms = dict(slots(site))[key]
    assert (
        codes(analyse(template(site, right_reference(forms), key=key), transform_declared=False).findings)
        == []
    )
    name = f"{site.profile_name_prefix or ''}existing-profile"
    literal = name if ProfileForm.NAME in forms else f"arn:aws:iam::123456789012:instance-profile/{name}"
    assert codes(analyse(template(site, literal, key=key), transform_declared=False).findings) == []
    sub = {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:instance-profile/{name}"}
    if ProfileForm.ARN in forms:
        assert codes(analyse(template(site, sub, key=key), transform_declared=False).findings) == []


@pytest.mark.parametrize(
    "principal",
    [
        {"Service": {"Fn::Sub": "ec2.${AWS::URLSuffix}"}},
        {"Service": {"Fn::Join": ["", ["ec2.", {"Ref": "AWS::URLSuffix"}]]}},
        {"Service": ["ssm.amazonaws.com", "ec2.amazonaws.com"]},
        {"Service": "ec2.amazonaws.com.cn"},
        {"Service": {"Fn::Sub": "${Service}.amazonaws.com"}},  # an intrinsic leaves it open
        {"Fn::If": [CONDITION, {"Service": "ec2.amazonaws.com"}, {"Service": "lambda.amazonaws.com"}]},
    ],
    ids=["url-suffix", "join-url-suffix", "principal-list", "china", "open", "if"],
)
def test_no_e9007_where_ec2_is_trusted_or_it_is_open(principal: Any) -> None:
    source = template(SITES[0], {"Ref": PROFILE}, principal=principal)
    assert codes(analyse(source, transform_declared=False).findings) == []


def test_a_profile_used_nowhere_is_not_judged_for_trust() -> None:
    source = template(SITES[0], {"Ref": PARAMETER}, principal=LAMBDA)
    assert codes(analyse(source, transform_declared=False).findings) == []


# -- regression tests for false positives ----------------------------------------------------------------


@pytest.mark.parametrize(("site", "key"), every_slot())
def test_a_dynamic_reference_is_never_judged(site: Site, key: str | None) -> None:
    """{{resolve:ssm:...}} is filled in at deploy time: neither a plain name nor a name breaking a rule."""
    source = template(site, "{{resolve:ssm:/fleet/instance-profile}}", key=key)
    assert codes(analyse(source, transform_declared=False).findings) == []


def test_a_roles_name_is_not_judged_while_a_profile_is_named_by_an_intrinsic() -> None:
    """A profile named by !Ref or !Sub may carry the role's name: E9006 would be a guess."""
    source = template(SITES[0], "my-app-role")
    source["Resources"][ROLE]["Properties"]["RoleName"] = "my-app-role"
    assert codes(analyse(source, transform_declared=False).findings) == [
        ("E9006", "Use", ("Properties", "IamInstanceProfile"))
    ]
    source["Resources"][PROFILE]["Properties"]["InstanceProfileName"] = {"Ref": PARAMETER}
    assert codes(analyse(source, transform_declared=False).findings) == []


IF_CASES = [
    pytest.param(site, key, wrong, right, code, id=f"{code}-{param.id}")
    for takes, wrong, right, code in (
        (ProfileForm.NAME, {"Fn::GetAtt": [PROFILE, "Arn"]}, {"Ref": PROFILE}, "E9003"),
        (ProfileForm.ARN, {"Ref": PROFILE}, {"Fn::GetAtt": [PROFILE, "Arn"]}, "E9004"),
    )
    for param in pairs(takes)
    for site, key in [param.values]
]


@pytest.mark.parametrize(("site", "key", "wrong", "right", "code"), IF_CASES)
def test_the_wrong_form_inside_an_fn_if_branch(
    site: Site, key: str | None, wrong: Any, right: Any, code: str
) -> None:
    """Each branch is judged on its own; the macro corrects the one branch, the other stays as written."""
    value = {"Fn::If": [CONDITION, wrong, {"Ref": "AWS::NoValue"}]}
    source = template(site, value, key=key)
    path = (*value_path(site, site.profile_property, key), "Fn::If", 1)
    assert codes(analyse(source, transform_declared=False).findings) == [(code, "Use", path)]
    result, warnings = corrected(source)
    assert at(result["Resources"]["Use"], path[:-2]) == {
        "Fn::If": [CONDITION, right, {"Ref": "AWS::NoValue"}]
    }
    assert len(warnings) == 1
