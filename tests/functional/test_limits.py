"""CloudFormation's limits (500 resources, ~1 MB) and hostile input: the macro always answers.

Hostile input goes through the handler, as CloudFormation would send it: deep nesting, 10 MB strings,
non-string keys, null or lists where mappings belong. Every one gets a response with a readable
errorMessage (or a correct expansion); none may end in a RecursionError, a traceback or a raise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from profile_expand import InvalidTemplateError, expand
from profile_expand.macro.handler import lambda_handler
from tests.support import FakeLambdaContext, macro_event

CONTEXT = FakeLambdaContext()
RESPONSE_KEYS = {"requestId", "status", "fragment", "errorMessage"}
DEPTH = 5000
HUGE = 10 * 1024 * 1024
INSTANCE = "AWS::EC2::Instance"


def role(name: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    }
    if name:
        properties["RoleName"] = name
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def instance(iam_role: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Type": INSTANCE,
        "Properties": {"ImageId": "ami-0123456789abcdef0", "IamRole": iam_role, **properties},
    }


def fleet(roles: int, instances: int, user_data: str = "") -> dict[str, Any]:
    """`roles` roles and `instances` instances; instance i uses role i % roles."""
    resources: dict[str, Any] = {f"Role{r:03d}": role() for r in range(roles)}
    for i in range(instances):
        extra = {"UserData": {"Fn::Base64": f"#!/bin/bash\n# {i}\n{user_data}"}} if user_data else {}
        resources[f"Web{i:03d}"] = instance({"Ref": f"Role{i % roles:03d}"}, **extra)
    return {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "ProfileExpand", "Resources": resources}


def assert_fleet_expanded(template: dict[str, Any], output: dict[str, Any], roles: int) -> None:
    resources = output["Resources"]
    webs = [lid for lid in template["Resources"] if lid.startswith("Web")]
    for position, lid in enumerate(webs):
        properties = resources[lid]["Properties"]
        assert "IamRole" not in properties
        profile = properties["IamInstanceProfile"]["Ref"]
        assert resources[profile]["Type"] == "AWS::IAM::InstanceProfile"
        assert resources[profile]["Properties"]["Roles"] == [{"Ref": f"Role{position % roles:03d}"}]
    assert expand(output) == output


def handle(fragment: Any) -> dict[str, Any]:
    response = lambda_handler(macro_event(fragment, request_id="req-limits"), CONTEXT)
    assert set(response) == RESPONSE_KEYS
    assert response["requestId"] == "req-limits"
    assert response["status"] in ("success", "failure")
    return response


def assert_readable_failure(response: dict[str, Any]) -> str:
    message = response["errorMessage"]
    assert response["status"] == "failure"
    assert isinstance(message, str) and message.strip()
    for leak in ("Traceback", "RecursionError", 'File "', "KeyError", "TypeError"):
        assert leak not in message, message[:500]
    return message


# -- 500 resources and 1 MB -------------------------------------------------------------------------


def test_expansion_up_to_exactly_500_resources_is_accepted() -> None:
    template = fleet(roles=100, instances=300)  # 400 resources + 100 profiles
    output = expand(template)
    assert len(output["Resources"]) == 500
    assert_fleet_expanded(template, output, roles=100)


def test_a_hand_written_profile_is_not_reused_and_counts_toward_500() -> None:
    resources: dict[str, Any] = {
        "AppRole": role(),
        "AppProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "AppRole"}]}},
    }
    resources.update({f"Web{i:03d}": instance("AppRole") for i in range(497)})
    output = expand({"Resources": resources})
    assert list(output["Resources"]) == [*resources, "AppRoleInstanceProfile"]
    assert output["Resources"]["AppProfile"] == resources["AppProfile"]
    for i in range(497):
        assert output["Resources"][f"Web{i:03d}"]["Properties"]["IamInstanceProfile"] == {
            "Ref": "AppRoleInstanceProfile"
        }


@pytest.mark.parametrize(("roles", "instances", "total"), [(100, 301, 501), (250, 250, 750)])
def test_an_expansion_past_500_resources_is_refused_clearly(roles: int, instances: int, total: int) -> None:
    template = fleet(roles, instances)
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    assert f"{total} resources" in raised.value.summary
    assert "limit of 500" in raised.value.summary
    message = assert_readable_failure(handle(template))
    assert f"{total} resources" in message and "limit of 500" in message
    assert len(message) < 1000, "one clear sentence, not a list of every resource"


def test_a_one_megabyte_template_expands() -> None:
    template = fleet(roles=100, instances=200, user_data="echo hello world\n" * 280)
    size = len(json.dumps(template))
    assert 950_000 < size < 1_100_000, size
    output = expand(template)
    assert len(output["Resources"]) == 400
    assert_fleet_expanded(template, output, roles=100)
    response = handle(template)
    assert response["status"] == "success"
    assert json.dumps(response["fragment"]) == json.dumps(output)


# -- hostile input ----------------------------------------------------------------------------------


def nested(depth: int, leaf: Any = "bottom") -> Any:
    """`depth` levels of alternately nested mappings and lists, built without recursion."""
    value = leaf
    for level in range(depth):
        value = {"Level": value} if level % 2 else [value]
    return value


def nested_if(depth: int) -> Any:
    value: Any = {"Ref": "AppRole"}
    for _ in range(depth):
        value = {"Fn::If": ["IsProd", value, {"Ref": "AWS::NoValue"}]}
    return value


def same(left: Any, right: Any) -> bool:
    """Deep equality (and key order) without recursion, for values Python's == cannot compare."""
    stack = [(left, right)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            stack.extend((a[key], b[key]) for key in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif a != b:
            return False
    return True


def with_app(*, conditions: Any = None, **resources: Any) -> dict[str, Any]:
    template: dict[str, Any] = {}
    if conditions is not None:
        template["Conditions"] = conditions
    template["Resources"] = {"AppRole": role(), **resources}
    return template


IS_PROD = {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}}


def deep_cases() -> list[Any]:
    deep = nested(DEPTH)
    return [
        pytest.param(with_app(Web=instance("AppRole", UserData=deep)), "success", id="unrelated-property"),
        pytest.param(
            {**with_app(Web=instance("AppRole")), "Metadata": deep, "Outputs": {"Deep": {"Value": deep}}},
            "success",
            id="other-sections",
        ),
        pytest.param(
            with_app(Bucket={"Type": "AWS::S3::Bucket", "Properties": deep}), "success", id="resource"
        ),
        pytest.param(with_app(Web=instance(deep)), "failure", id="iamrole-value"),
        pytest.param(with_app(Web=instance({"Fn::ImportValue": deep})), "failure", id="iamrole-intrinsic"),
        pytest.param(
            with_app(conditions=IS_PROD, Web=instance(nested_if(DEPTH))),
            "failure",
            id="iamrole-nested-if",
        ),
        pytest.param(
            with_app(
                Template={
                    "Type": "AWS::EC2::LaunchTemplate",
                    "Properties": {"LaunchTemplateData": {"IamRole": "AppRole", "BlockDeviceMappings": deep}},
                }
            ),
            "success",
            id="site-container",
        ),
        pytest.param(
            with_app(
                Fleet={
                    "Type": "AWS::EC2::SpotFleet",
                    "Properties": {
                        "SpotFleetRequestConfigData": {"LaunchSpecifications": [{"IamRole": "AppRole"}, deep]}
                    },
                }
            ),
            "success",
            id="site-list",
        ),
        pytest.param(
            with_app(
                Env={
                    "Type": "AWS::ElasticBeanstalk::Environment",
                    "Properties": {
                        "OptionSettings": [
                            {
                                "Namespace": "aws:autoscaling:launchconfiguration",
                                "OptionName": "IamRole",
                                "Value": deep,
                            }
                        ]
                    },
                }
            ),
            "failure",
            id="option-setting-value",
        ),
    ]


def _outcome(response: dict[str, Any], expected: str) -> None:
    if expected == "failure" or response["status"] == "failure":
        message = assert_readable_failure(response)
        assert "internal error" not in message, "a template problem answered as an internal error"
    assert response["status"] == expected, response["errorMessage"][:500]


@pytest.mark.parametrize(("template", "expected"), deep_cases())
def test_deep_nesting_gets_a_response(template: dict[str, Any], expected: str) -> None:
    response = handle(template)
    _outcome(response, expected)
    if response["status"] == "success":
        output = response["fragment"]
        for lid, resource in template["Resources"].items():
            if lid not in ("Web", "Template", "Fleet"):
                assert same(output["Resources"][lid], resource)
        assert same(
            {k: v for k, v in output.items() if k != "Resources"},
            {k: v for k, v in template.items() if k != "Resources"},
        )
        if "Web" in template["Resources"]:
            properties = output["Resources"]["Web"]["Properties"]
            assert properties["IamInstanceProfile"] == {"Ref": "AppRoleInstanceProfile"}
            original = template["Resources"]["Web"]["Properties"]
            assert same(
                {k: v for k, v in properties.items() if k != "IamInstanceProfile"},
                {k: v for k, v in original.items() if k != "IamRole"},
            )


def huge_cases() -> list[Any]:
    big = "x" * HUGE
    return [
        pytest.param(with_app(Web=instance("AppRole", UserData=big)), "success", id="user-data"),
        pytest.param(with_app(Web=instance("AppRole", **{big: "key"})), "success", id="property-key"),
        pytest.param(with_app(Web=instance(big)), "failure", id="iamrole-string"),
        pytest.param(
            with_app(Web=instance(f"arn:aws:iam::123456789012:role/{'a/' * (HUGE // 2)}")),
            "failure",
            id="iamrole-arn",
        ),
        pytest.param(with_app(Web=instance({"Fn::Sub": big})), "success", id="iamrole-sub"),
        pytest.param(with_app(Web=instance({"Ref": big})), "failure", id="ref-target"),
        pytest.param(
            with_app(Web=instance({"Fn::GetAtt": [big, "Arn"]})),
            "failure",
            id="getatt-target",
        ),
        pytest.param(
            with_app(conditions=IS_PROD, Web=instance({"Fn::If": [big, "AppRole", "AppRole"]})),
            "failure",
            id="if-condition",
        ),
        pytest.param(
            {"Resources": {big: role(), "Web": instance({"Ref": big})}},
            "failure",
            id="role-logical-id",
        ),
        pytest.param(
            {"Parameters": {big: {"Type": "String"}}, "Resources": {"Web": instance(big)}},
            "failure",
            id="parameter-name",
        ),
        pytest.param(with_app(Web={"Type": big, "Properties": {"IamRole": "AppRole"}}), "success", id="type"),
    ]


@pytest.mark.parametrize(("template", "expected"), huge_cases())
def test_huge_strings_get_a_short_answer(template: dict[str, Any], expected: str) -> None:
    response = handle(template)
    _outcome(response, expected)
    if response["status"] == "failure":
        assert len(response["errorMessage"]) < 2000, "the message quotes, it does not copy 10 MB"
    else:
        web = response["fragment"]["Resources"]["Web"]["Properties"]
        assert "IamRole" not in web or template["Resources"]["Web"]["Type"] != INSTANCE


def _null_and_list_cases() -> list[Any]:
    """(name, fragment): null, or a list, everywhere the macro expects a mapping."""
    cases: list[Any] = []
    for blank_name, blank in (("null", None), ("list", []), ("string", "text")):
        for where, fragment in (
            ("fragment", blank),
            ("Resources", {"Resources": blank}),
            ("resource", with_app(Web=blank)),
            ("Properties", with_app(Web={"Type": INSTANCE, "Properties": blank})),
            (
                "container",
                with_app(T={"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": blank}}),
            ),
            (
                "list-container",
                with_app(F={"Type": "AWS::EC2::EC2Fleet", "Properties": {"LaunchTemplateConfigs": blank}}),
            ),
            (
                "list-item",
                with_app(
                    F={
                        "Type": "AWS::EC2::SpotFleet",
                        "Properties": {
                            "SpotFleetRequestConfigData": {
                                "LaunchSpecifications": [blank, {"IamRole": "AppRole"}]
                            }
                        },
                    }
                ),
            ),
            (
                "OptionSettings",
                with_app(
                    E={"Type": "AWS::ElasticBeanstalk::Environment", "Properties": {"OptionSettings": blank}}
                ),
            ),
            (
                "option-entry",
                with_app(
                    E={
                        "Type": "AWS::ElasticBeanstalk::Environment",
                        "Properties": {
                            "OptionSettings": [
                                blank,
                                {
                                    "Namespace": "aws:autoscaling:launchconfiguration",
                                    "OptionName": "IamRole",
                                    "Value": "AppRole",
                                },
                            ]
                        },
                    }
                ),
            ),
            (
                "Conditions",
                {"Conditions": blank, **with_app(Web=instance({"Fn::If": ["IsProd", "AppRole", "AppRole"]}))},
            ),
            ("Parameters", {"Parameters": blank, **with_app(Web=instance({"Ref": "RoleName"}))}),
            ("parameter", {"Parameters": {"RoleName": blank}, **with_app(Web=instance({"Ref": "RoleName"}))}),
            (
                "Outputs-Mappings-Metadata",
                {"Outputs": blank, "Mappings": blank, "Metadata": blank, **with_app(Web=instance("AppRole"))},
            ),
            ("resource-Condition", with_app(Web={**instance("AppRole"), "Condition": blank})),
            (
                "role-Condition",
                {"Resources": {"AppRole": {**role(), "Condition": blank}, "Web": instance("AppRole")}},
            ),
            (
                "profile-Roles",
                with_app(
                    P={"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": blank}},
                    Web=instance("AppRole"),
                ),
            ),
            ("IamRole", with_app(Web=instance(blank))),
            ("Fn::If-arguments", with_app(conditions=IS_PROD, Web=instance({"Fn::If": blank}))),
            ("Ref-argument", with_app(Web=instance({"Ref": blank}))),
            ("GetAtt-argument", with_app(Web=instance({"Fn::GetAtt": blank}))),
        ):
            cases.append(pytest.param(fragment, id=f"{blank_name}-{where}"))
    return cases


@pytest.mark.parametrize("fragment", _null_and_list_cases())
def test_null_or_list_where_a_mapping_belongs_gets_a_response(fragment: Any) -> None:
    response = handle(fragment)
    if response["status"] == "failure":
        assert "internal error" not in assert_readable_failure(response)
    else:
        assert "IamRole" not in json.dumps(response["fragment"]["Resources"].get("Web", {}))


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(["AWS::EC2::Instance"], id="list"),
        pytest.param({"Name": "AWS::EC2::Instance"}, id="mapping"),
        pytest.param(None, id="null"),
        pytest.param(7, id="number"),
    ],
)
def test_a_resource_type_that_is_not_a_string_gets_a_response(kind: Any) -> None:
    response = handle(with_app(Web={"Type": kind, "Properties": {"IamRole": "AppRole"}}))
    if response["status"] == "failure":
        assert "internal error" not in assert_readable_failure(response)


def test_non_string_keys_get_a_response() -> None:
    weird: dict[Any, Any] = {1: "one", None: "none", ("a", "b"): "tuple", 2.5: "float"}
    template: dict[Any, Any] = {
        None: "top",
        "Parameters": {1: {"Type": "String"}, "RoleName": {"Type": "String", 2: "x"}},
        "Conditions": {("c",): {"Fn::Equals": [1, 1]}, **IS_PROD},
        "Resources": {
            1: instance("AppRole"),
            None: None,
            ("x", 1): {"Type": INSTANCE},
            "AppRole": role(),
            "Web": {"Type": INSTANCE, "Properties": {**weird, "IamRole": "AppRole"}},
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {"LaunchTemplateData": {**weird, "IamRole": {"Ref": "RoleName"}}},
            },
            "Env": {
                "Type": "AWS::ElasticBeanstalk::Environment",
                "Properties": {
                    "OptionSettings": [
                        {
                            1: 2,
                            "Namespace": "aws:autoscaling:launchconfiguration",
                            "OptionName": "IamRole",
                            "Value": "AppRole",
                        }
                    ]
                },
            },
        },
    }
    response = handle(template)
    assert response["status"] == "success", response["errorMessage"]
    resources = response["fragment"]["Resources"]
    assert resources[1] == template["Resources"][1], "a resource under a non-string logical ID is left alone"
    assert list(resources["Web"]["Properties"]) == [*weird, "IamInstanceProfile"]
    assert resources["Web"]["Properties"]["IamInstanceProfile"] == {"Ref": "AppRoleInstanceProfile"}
    data = resources["Template"]["Properties"]["LaunchTemplateData"]
    assert list(data) == [*weird, "IamInstanceProfile"]
    assert resources["Env"]["Properties"]["OptionSettings"][0][1] == 2
    assert response["fragment"][None] == "top"


def test_non_string_keys_in_an_iamrole_value_are_a_readable_error() -> None:
    for value in ({1: "AppRole"}, {None: "AppRole"}, {("Ref",): "AppRole"}, {"Fn::If": {1: 2}}):
        response = handle(with_app(Web=instance(value)))
        message = assert_readable_failure(response)
        assert "Resource Web" in message and "internal error" not in message


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "event",
        42,
        {},
        {"requestId": 7, "fragment": {}},
        {"requestId": "r"},
        {"fragment": with_app()},
    ],
    ids=["null", "list", "string", "number", "empty", "requestId-number", "no-fragment", "no-requestId"],
)
def test_a_malformed_event_gets_a_response(event: Any) -> None:
    response = lambda_handler(event, CONTEXT)
    assert set(response) == RESPONSE_KEYS
    assert_readable_failure(response)


# -- logs -------------------------------------------------------------------------------------------

NOECHO_VALUE = "Pa55w0rd-NoEcho-7d1f0c"
SECRET_LOOKING = "AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

_LOG_SCRIPT = r"""
import json, logging, sys
from unittest import mock

class Capture(logging.Handler):
    def emit(self, record):
        sys.stderr.write("RECORD " + repr(record.__dict__) + " " + self.format(record) + "\n")

logging.root.setLevel(logging.DEBUG)
logging.root.addHandler(Capture(logging.DEBUG))

from profile_expand.macro import handler
from tests.support import FakeLambdaContext

for name in list(logging.root.manager.loggerDict):
    logger = logging.getLogger(name)
    logger.addHandler(Capture(logging.DEBUG))
handler.logger.debug("capture-probe")

responses = []
for event in json.load(sys.stdin):
    responses.append(handler.lambda_handler(event, FakeLambdaContext()))
with mock.patch.object(handler, "expand_with_report", side_effect=RuntimeError("boom")):
    responses.append(handler.lambda_handler(event, FakeLambdaContext()))
print("RESPONSES " + json.dumps([r["status"] for r in responses]))
"""


def _secret_events() -> list[dict[str, Any]]:
    parameters = {"DbPassword": {"Type": "String", "NoEcho": True}, "RoleName": {"Type": "String"}}
    values = {"DbPassword": NOECHO_VALUE, "RoleName": "ops-role"}
    params = {"ApiToken": SECRET_LOOKING}

    def event(template: Any) -> dict[str, Any]:
        return macro_event(template, templateParameterValues=values, params=params)

    mistake = {"Type": INSTANCE, "Properties": {"IamInstanceProfile": {"Ref": "AppRole"}}}
    return [
        event({"Parameters": parameters, **with_app(Web=instance({"Ref": "RoleName"}))}),  # success
        event({"Parameters": parameters, **with_app(Web=mistake)}),  # success with a warning
        event({"Parameters": parameters, **with_app(Web=instance({"Ref": "DbPasswor"}))}),  # template error
        event(None),  # invalid event
        event({"Parameters": parameters, **with_app(Web={"Type": [INSTANCE], "Properties": {}})}),
    ]


def test_no_parameter_value_reaches_any_log_at_any_level() -> None:
    env = {
        **os.environ,
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_LOGGER_LOG_EVENT": "true",
        "POWERTOOLS_DEBUG": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOG_SCRIPT],
        input=json.dumps(_secret_events()),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert 'RESPONSES ["success", "success", "failure", "failure", ' in done.stdout
    # The capture works: the debug probe, a log line at each level, and the internal error's traceback.
    for expected in ("capture-probe", '"level":"INFO"', '"level":"WARNING"', '"level":"ERROR"', "boom"):
        assert expected in output, expected
    assert NOECHO_VALUE not in output
    assert SECRET_LOOKING not in output
    assert "AKIA" not in output
