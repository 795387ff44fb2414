"""The guard's core on hook events in the documented shapes, its IAM answered by moto's real IAM models
(GetInstanceProfile, GetRole) through the guard's own boto3 adapter, and its payloads by a fake fetch.

moto never invokes hooks (a stack's LambdaHook resource is skipped with a warning): the hook side is the
fixture events of events/hook_*.json, in the shapes of HOOKS.md. IAM errors moto cannot produce
(AccessDenied, throttling) come from botocore's Stubber on the same client model.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from bench import guard_local
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from profile_expand.core.account import ProfileFacts, RoleFacts
from profile_expand.core.errors import GuardUnavailable
from profile_expand.core.sites import SITES
from profile_expand.guard import hook as guard
from profile_expand.guard.aws import MAX_ATTEMPTS, BotoIam, fetch_payload
from tests.support import FakeLambdaContext, log_to_current_stdout

ACCOUNT = guard_local.ACCOUNT
S3_URL = "https://hooks-payloads.s3.us-east-1.amazonaws.com/abc/payload.json?X-Amz-Signature=f00"


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        guard_local.seed_iam(client)
        yield client


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((guard_local.sam_local.EVENTS / name).read_text(encoding="utf-8"))
    return event


def _never(url: str) -> bytes:
    raise AssertionError(f"fetched {url}")


def _resource_event(resource_type: str, properties: Any, previous: Any = None, **top: Any) -> dict[str, Any]:
    event = _event("hook_ec2_instance_role_name.json")
    event["requestData"] = {
        "targetName": resource_type,
        "targetType": resource_type,
        "targetLogicalId": "Web",
        "targetModel": {"resourceProperties": properties, "previousResourceProperties": previous or {}},
    }
    event.update(top)
    return event


def _evaluate(event: Any, client: Any, fetch: guard.Fetch = _never) -> guard.Verdict:
    return guard.evaluate(event, BotoIam(client), fetch)


# -- the fixture events -------------------------------------------------------------------------------


def test_every_hook_event_has_its_expected_verdict_and_no_other() -> None:
    assert {p.name for p in guard_local.hook_events()} == set(guard_local.EXPECTED)


@pytest.mark.parametrize("name", sorted(guard_local.EXPECTED))
def test_hook_event_gets_its_verdict_against_moto_iam(iam: Any, name: str) -> None:
    event = _event(name)
    response = _evaluate(event, iam).response

    assert guard_local.verdict_problems(name, response) == []
    token = event.get("clientRequestToken", event.get("clientRequesttoken"))
    assert response["clientRequestToken"] == token
    assert isinstance(response["message"], str) and len(response["message"]) <= guard.MESSAGE_LIMIT
    json.dumps(response)  # the answer is JSON as it stands


# -- the must-shows -----------------------------------------------------------------------------------


def test_a_roles_name_as_an_instances_profile_fails_naming_resource_property_value_and_fix(iam: Any) -> None:
    response = _evaluate(_event("hook_ec2_instance_role_name.json"), iam).response

    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")
    message = response["message"]
    for part in ("E9006", "Resource Web", "Properties.IamInstanceProfile", '"app-role"', "IamRole: app-role"):
        assert part in message[:1024], part
    (annotation,) = response["annotations"]
    assert annotation["annotationName"] == "ProfileExpandE9006"
    assert annotation["remediationLink"].endswith("#guard-every-stack")
    assert "IamRole: app-role" in annotation["remediationMessage"]


def test_the_consoles_same_named_role_and_profile_pass(iam: Any) -> None:
    assert _evaluate(_event("hook_ec2_instance_console_role.json"), iam).response["hookStatus"] == "SUCCESS"


def test_a_missing_name_is_asked_again_once_then_fails(iam: Any) -> None:
    first = _evaluate(_event("hook_ec2_instance_missing.json"), iam).response
    assert first["hookStatus"] == "IN_PROGRESS"
    assert first["callbackDelaySeconds"] == guard.ASK_AGAIN_SECONDS
    again = _event("hook_ec2_instance_missing.json")
    again["requestContext"] = {"invocation": 2, "callbackContext": first["callbackContext"]}

    second = _evaluate(again, iam).response

    assert (second["hookStatus"], second["errorCode"]) == ("FAILED", "NonCompliant")
    assert "no-such-profile" in second["message"] and "E9009" in second["message"]


def test_a_profile_made_between_the_two_asks_passes(iam: Any) -> None:
    first = _evaluate(_event("hook_ec2_instance_missing.json"), iam).response
    iam.create_instance_profile(InstanceProfileName="no-such-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="no-such-profile", RoleName="console-role")
    again = _event("hook_ec2_instance_missing.json")
    again["requestContext"] = {"invocation": 2, "callbackContext": first["callbackContext"]}

    assert _evaluate(again, iam).response["hookStatus"] == "SUCCESS"


def test_a_role_arn_in_a_launch_templates_arn_fails_without_asking_iam(iam: Any) -> None:
    verdict = _evaluate(_event("hook_launch_template_role_arn.json"), iam)

    assert verdict.response["hookStatus"] == "FAILED"
    assert [f.code for f in verdict.findings] == ["E9001"]
    assert "IamInstanceProfile.Arn" in verdict.response["message"]
    assert verdict.iam_calls == 0


# -- what is judged -----------------------------------------------------------------------------------


def test_a_profile_arn_with_another_path_is_not_that_profile(iam: Any) -> None:
    iam.create_instance_profile(InstanceProfileName="web", Path="/teams/")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="console-role")
    right = {
        "LaunchTemplateData": {
            "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/teams/web"}
        }
    }
    wrong = {
        "LaunchTemplateData": {"IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/web"}}
    }

    assert (
        _evaluate(_resource_event("AWS::EC2::LaunchTemplate", right), iam).response["hookStatus"] == "SUCCESS"
    )
    failed = _evaluate(
        _resource_event(
            "AWS::EC2::LaunchTemplate", wrong, requestContext={"callbackContext": {"askedAgain": True}}
        ),
        iam,
    )
    assert [f.code for f in failed.findings] == ["E9009"]
    assert '"/teams/"' in failed.response["message"]


def test_a_profile_without_a_role_fails(iam: Any) -> None:
    iam.create_instance_profile(InstanceProfileName="empty")
    verdict = _evaluate(_resource_event("AWS::EC2::Instance", {"IamInstanceProfile": "empty"}), iam)

    assert [f.code for f in verdict.findings] == ["E9007"]
    assert "holds no role" in verdict.response["message"]


def test_pcs_needs_its_role_named_or_pathed_so(iam: Any) -> None:
    iam.create_role(RoleName="plain-role", AssumeRolePolicyDocument=json.dumps(guard_local._EC2_TRUST))
    iam.create_instance_profile(InstanceProfileName="pcs")
    iam.add_role_to_instance_profile(InstanceProfileName="pcs", RoleName="plain-role")
    iam.create_role(
        RoleName="nodes", Path="/aws-pcs/", AssumeRolePolicyDocument=json.dumps(guard_local._EC2_TRUST)
    )
    iam.create_instance_profile(InstanceProfileName="pcs-ok")
    iam.add_role_to_instance_profile(InstanceProfileName="pcs-ok", RoleName="nodes")
    arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/"

    bad = _evaluate(
        _resource_event("AWS::PCS::ComputeNodeGroup", {"IamInstanceProfileArn": arn + "pcs"}), iam
    )
    good = _evaluate(
        _resource_event("AWS::PCS::ComputeNodeGroup", {"IamInstanceProfileArn": arn + "pcs-ok"}), iam
    )

    assert [f.code for f in bad.findings] == ["E9008"]
    assert "AWSPCS" in bad.response["message"]
    assert good.response["hookStatus"] == "SUCCESS"


def test_a_name_where_an_arn_goes_fails_from_the_form_alone(iam: Any) -> None:
    verdict = _evaluate(
        _resource_event("AWS::PCS::ComputeNodeGroup", {"IamInstanceProfileArn": "console-role"}), iam
    )

    assert [f.code for f in verdict.findings] == ["E9004"]
    assert verdict.iam_calls == 0


def test_an_update_is_judged_only_where_it_changes_a_site_value(iam: Any) -> None:
    old = {"IamInstanceProfile": "app-role", "InstanceType": "t3.micro"}
    unrelated = _resource_event("AWS::EC2::Instance", {**old, "InstanceType": "t3.large"}, old)
    changed = _resource_event("AWS::EC2::Instance", old, {**old, "IamInstanceProfile": "console-role"})

    assert _evaluate(unrelated, iam).response["hookStatus"] == "SUCCESS"
    assert _evaluate(unrelated, iam).iam_calls == 0
    assert _evaluate(changed, iam).response["hookStatus"] == "FAILED"


def test_delete_passes_without_a_look(iam: Any) -> None:
    verdict = _evaluate(_event("hook_delete.json"), iam)
    assert (verdict.response["hookStatus"], verdict.iam_calls) == ("SUCCESS", 0)


def test_both_token_spellings_are_echoed(iam: Any) -> None:
    event = _event("hook_ec2_instance_console_role.json")
    event["clientRequesttoken"] = event.pop("clientRequestToken")
    assert _evaluate(event, iam).response["clientRequestToken"] == "tok-console"


@pytest.mark.parametrize(
    "event", [None, [], "text", {"requestData": "x"}, {"requestData": {"targetModel": 3}}]
)
def test_malformed_events_are_internal_failures(iam: Any, event: Any) -> None:
    response = _evaluate(event, iam).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    assert response["message"]


@pytest.mark.parametrize(
    "properties", [None, [], "x", {"IamInstanceProfile": 7}, {"IamInstanceProfile": ["a"]}]
)
def test_odd_resolved_properties_never_raise(iam: Any, properties: Any) -> None:
    response = _evaluate(_resource_event("AWS::EC2::Instance", properties), iam).response
    assert response["hookStatus"] in ("SUCCESS", "FAILED")


def test_every_sites_resource_type_is_guarded() -> None:
    assert set(guard.GUARDED_TYPES) == {site.resource_type for site in SITES} | {"AWS::IAM::InstanceProfile"}


# -- IAM: at most two calls a distinct value; IAM's trouble is never the template's -----------------------


class CountingIam:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def instance_profile(self, name: str) -> ProfileFacts | None:
        self.calls.append(("profile", name))
        return None

    def role(self, name: str) -> RoleFacts | None:
        self.calls.append(("role", name))
        return RoleFacts(name, "/", {})


def _fleet(values: list[str]) -> dict[str, Any]:
    overrides = [{"InstanceType": "t3.micro", "IamInstanceProfile": {"Name": value}} for value in values]
    return {"LaunchTemplateConfigs": [{"Overrides": overrides}]}


def test_a_name_iam_would_refuse_is_never_sent_to_it() -> None:
    counting = CountingIam()
    for name in ("rôle", "a b", "x" * 129):
        guard.evaluate(_resource_event("AWS::EC2::Instance", {"IamInstanceProfile": name}), counting, _never)
    assert counting.calls == []


def test_forty_sites_of_one_value_ask_iam_twice() -> None:
    counting = CountingIam()
    verdict = guard.evaluate(
        _resource_event("AWS::EC2::EC2Fleet", _fleet(["app-role"] * 40)), counting, _never
    )

    assert counting.calls == [("profile", "app-role"), ("role", "app-role")]
    assert len(verdict.findings) == 40


def test_distinct_values_ask_at_most_twice_each() -> None:
    counting = CountingIam()
    guard.evaluate(
        _resource_event("AWS::EC2::EC2Fleet", _fleet([f"role-{n % 7}" for n in range(40)])), counting, _never
    )
    assert len(counting.calls) == 14 and len(set(counting.calls)) == 14


@pytest.mark.parametrize("code", ["AccessDenied", "Throttling", "ServiceFailure"])
def test_iam_errors_are_internal_failures_never_non_compliant(code: str) -> None:
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        for _ in range(MAX_ATTEMPTS):  # a transient code is tried again while time allows
            stubber.add_client_error("get_instance_profile", service_error_code=code, http_status_code=403)
        response = _evaluate(_event("hook_ec2_instance_role_name.json"), client).response

    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    assert code in response["message"]


def test_an_unreachable_iam_is_an_internal_failure() -> None:
    # A real connection to a closed loopback port: botocore's own connection error, not a stub.
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    response = _evaluate(_event("hook_ec2_instance_role_name.json"), client).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")


# -- the message --------------------------------------------------------------------------------------


def test_the_message_fits_and_its_first_1024_characters_hold_the_first_finding_whole() -> None:
    counting = CountingIam()
    values = [f"role-{n}-{'x' * 40}" for n in range(40)]
    response = guard.evaluate(
        _resource_event("AWS::EC2::EC2Fleet", _fleet(values)), counting, _never
    ).response

    message = response["message"]
    assert len(message) <= guard.MESSAGE_LIMIT
    first_end = message.index(" [E9006]", 10)
    assert first_end <= guard.HEADLINE_LIMIT
    assert "more: see the hook's annotations" in message
    assert len(response["annotations"]) == 40


def test_under_cloud_control_the_message_fits_1024(iam: Any) -> None:
    event = _resource_event("AWS::EC2::EC2Fleet", _fleet([f"role-{n}" for n in range(40)]), stackId="")
    message = guard.evaluate(event, CountingIam(), _never).response["message"]
    assert len(message) <= guard.CLOUD_CONTROL_LIMIT


# -- STACK and CHANGE_SET -----------------------------------------------------------------------------

_ROLE_AS_PROFILE = """
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]}
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0abcdef1234567890
      IamInstanceProfile: !Ref AppRole
"""


def _stack_event(target: str = "STACK", url: str = S3_URL) -> dict[str, Any]:
    event = _event("hook_stack_refused_url.json")
    event["requestData"] = {
        "targetName": target,
        "targetType": target,
        "targetLogicalId": "web-app",
        "payload": url,
    }
    return event


def _payload(template: str, previous: str = "") -> guard.Fetch:
    def fetch(url: str) -> bytes:
        assert url == S3_URL
        return json.dumps({"template": template, "previousTemplate": previous}).encode()

    return fetch


@pytest.mark.parametrize("target", ["STACK", "CHANGE_SET"])
def test_a_stacks_yaml_template_is_judged_by_the_lint_model(target: str) -> None:
    verdict = guard.evaluate(_stack_event(target), CountingIam(), _payload(_ROLE_AS_PROFILE))

    assert verdict.response["hookStatus"] == "FAILED"
    assert [f.code for f in verdict.findings] == ["E9001"]
    assert "Resource Web, Properties.IamInstanceProfile" in verdict.response["message"]


def test_a_stack_reports_only_findings_the_previous_template_did_not_have() -> None:
    same = guard.evaluate(_stack_event(), CountingIam(), _payload(_ROLE_AS_PROFILE, _ROLE_AS_PROFILE))
    assert same.response["hookStatus"] == "SUCCESS"


def test_a_stack_with_any_transform_passes() -> None:
    template = "Transform: AWS::Serverless-2016-10-31\n" + _ROLE_AS_PROFILE
    assert (
        guard.evaluate(_stack_event(), CountingIam(), _payload(template)).response["hookStatus"] == "SUCCESS"
    )


def test_a_json_stack_template_is_read() -> None:
    from profile_expand.core.template_text import load_template

    template = json.dumps(load_template(_ROLE_AS_PROFILE))
    assert (
        guard.evaluate(_stack_event(), CountingIam(), _payload(template)).response["hookStatus"] == "FAILED"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.s3.us-east-1.amazonaws.com/p",
        "https://example.com/p",
        "https://s3.amazonaws.com.evil.example/p",
        "https://user:pw@hooks.s3.amazonaws.com/p",
        "https://hooks.s3.amazonaws.com:8443/p",
        "file:///etc/passwd",
    ],
)
def test_payloads_are_fetched_only_from_https_s3(url: str) -> None:
    response = guard.evaluate(_stack_event(url=url), CountingIam(), _never).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    with pytest.raises(GuardUnavailable):
        fetch_payload(url)


@pytest.mark.parametrize(
    "url",
    [
        S3_URL,
        "https://s3.amazonaws.com/bucket/p",
        "https://bucket.s3.amazonaws.com/p",
        "https://s3-us-west-2.amazonaws.com/bucket/p",
        "https://bucket.s3.cn-north-1.amazonaws.com.cn/p",
    ],
)
def test_s3_addresses_are_payload_urls(url: str) -> None:
    assert guard.is_payload_url(url)


def test_an_unreadable_payload_is_an_internal_failure() -> None:
    response = guard.evaluate(_stack_event(), CountingIam(), lambda url: b"<html>").response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")


# -- the handler --------------------------------------------------------------------------------------


def test_the_handler_logs_codes_and_ids_never_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        from profile_expand.guard import handler as guard_handler

        client = boto3.client("iam", region_name="us-east-1")
        guard_local.seed_iam(client)
        monkeypatch.setattr(guard_handler, "_IAM", client)
        log_to_current_stdout(guard_handler.SERVICE, monkeypatch)
        event = _event("hook_ec2_instance_role_name.json")
        event["requestData"]["targetModel"]["resourceProperties"]["UserData"] = "c2VjcmV0LXBhc3N3b3Jk"
        response = guard_handler.lambda_handler(copy.deepcopy(event), FakeLambdaContext())

    assert response["hookStatus"] == "FAILED"
    logged = capsys.readouterr().out
    assert '"codes": ["E9006"]' in logged.replace("'", '"') or "E9006" in logged
    assert "c2VjcmV0LXBhc3N3b3Jk" not in logged and "app-role" not in logged


def test_the_handler_answers_a_bug_with_an_internal_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from profile_expand.guard import handler as guard_handler

    def broken(*args: Any) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(guard_handler, "evaluate", broken)
    response = guard_handler.lambda_handler(_event("hook_delete.json"), FakeLambdaContext())
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    assert response["clientRequestToken"] == "tok-delete"
    lowercase = _event("hook_token_lowercase_untrusted_role.json")
    assert (
        guard_handler.lambda_handler(lowercase, FakeLambdaContext())["clientRequestToken"] == "tok-lowercase"
    )


def test_the_pure_core_imports_no_aws_sdk() -> None:
    import subprocess
    import sys

    script = "import sys, profile_expand.guard.hook, profile_expand.core.account; print(sorted({'boto3', 'botocore', 'urllib.request'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_benchmarks_forty_site_event_asks_iam_twice_for_each_of_its_forty_names() -> None:
    from bench import guard_runtime

    counting = CountingIam()
    verdict = guard.evaluate(guard_runtime.forty_site_event(), counting, _never)
    assert len(counting.calls) == verdict.iam_calls == 2 * guard_runtime.SITES
    assert verdict.response["errorCode"] == "NonCompliant"


def _metrics(stdout: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            for directive in record["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    values[metric["Name"]] = record[metric["Name"]]
    return values


@pytest.mark.parametrize(
    ("name", "non_compliant", "findings"),
    [
        ("hook_ec2_instance_role_name.json", 1, 1),
        ("hook_ec2_instance_missing.json", 0, 1),
        ("hook_delete.json", 0, 0),
    ],
)
def test_the_handler_counts_non_compliant_answers_only(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    non_compliant: int,
    findings: int,
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    with mock_aws():
        from profile_expand.guard import handler as guard_handler

        client = boto3.client("iam", region_name="us-east-1")
        guard_local.seed_iam(client)
        monkeypatch.setattr(guard_handler, "_IAM", client)
        capsys.readouterr()
        guard_handler.lambda_handler(_event(name), FakeLambdaContext())

    metrics = _metrics(capsys.readouterr().out)
    assert (metrics["NonCompliant"], metrics["Findings"]) == ([non_compliant], [findings])
