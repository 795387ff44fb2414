"""Issue 24: the guard never blames a correct stack. IAM's eventual consistency is asked again once and
never loops; names no profile of this account can have are findings; a payload or template the guard does
not recognise is its own failure, said in bounded words that quote no template text; answers stay bounded.

IAM is moto's (GetInstanceProfile, GetRole) through the guard's boto3 adapter, as in test_guard.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from bench import guard_local
from moto import mock_aws

from profile_expand.core.account import Home
from profile_expand.guard import hook as guard
from profile_expand.guard.aws import BotoIam
from tests.functional.test_guard import (
    S3_URL,
    CountingIam,
    _event,
    _fleet,
    _never,
    _payload,
    _resource_event,
    _stack_event,
)


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        guard_local.seed_iam(client)
        yield client


_ROLE_AS_PROFILE = """Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Web:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: !Ref AppRole
"""
_CLEAN = """Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: t3.micro
"""


def _first_ask(name: str = "app-role") -> dict[str, Any]:
    event = _event("hook_ec2_instance_role_name_first_ask.json")
    event["requestData"]["targetModel"]["resourceProperties"]["IamInstanceProfile"] = name
    return event


# -- 1. every answer IAM gives while a profile propagates is asked again --------------------------------


def test_a_role_visible_before_its_same_named_profile_is_asked_again(iam: Any) -> None:
    first = guard.evaluate(_first_ask("app-role"), BotoIam(iam), _never).response
    assert first["hookStatus"] == "IN_PROGRESS"

    # The console's profile of the role's name shows up in IAM between the two asks.
    iam.create_instance_profile(InstanceProfileName="app-role")
    iam.add_role_to_instance_profile(InstanceProfileName="app-role", RoleName="app-role")
    again = _first_ask("app-role")
    again["requestContext"] = {"invocation": 2, "callbackContext": first["callbackContext"]}
    assert guard.evaluate(again, BotoIam(iam), _never).response["hookStatus"] == "SUCCESS"


def test_a_profile_whose_role_is_not_added_yet_is_asked_again_then_fails_e9007(iam: Any) -> None:
    first = guard.evaluate(_first_ask("empty-profile"), BotoIam(iam), _never).response
    assert first["hookStatus"] == "IN_PROGRESS"
    again = _first_ask("empty-profile")
    again["requestContext"] = {"invocation": 2, "callbackContext": first["callbackContext"]}

    second = guard.evaluate(again, BotoIam(iam), _never)

    assert (second.response["hookStatus"], [f.code for f in second.findings]) == ("FAILED", ["E9007"])


def test_a_settled_finding_is_not_asked_again(iam: Any) -> None:
    # lambda-profile holds a role EC2 cannot assume: no amount of waiting changes that.
    response = guard.evaluate(_first_ask("lambda-profile"), BotoIam(iam), _never).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")


# -- 2. the re-ask ends, whatever the callbackContext holds ---------------------------------------------


@pytest.mark.parametrize(
    "callback", ['{"askedAgain": true}', "true", {}, None, {"askedAgain": "true"}, [], 1]
)
@pytest.mark.parametrize("invocation", [2, 3, 4, 10, "3"])
def test_no_in_progress_after_the_first_invocation(iam: Any, invocation: Any, callback: Any) -> None:
    event = _first_ask("no-such-profile")
    event["requestContext"] = {"invocation": invocation, "callbackContext": callback}

    response = guard.evaluate(event, BotoIam(iam), _never).response

    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "NonCompliant")


@pytest.mark.parametrize("callback", ['{"askedAgain": true}', "true", {"askedAgain": 1}, {"other": True}])
def test_any_callback_context_at_the_first_invocation_counts_as_asked(iam: Any, callback: Any) -> None:
    event = _first_ask("no-such-profile")
    event["requestContext"] = {"invocation": 1, "callbackContext": callback}
    assert guard.evaluate(event, BotoIam(iam), _never).response["hookStatus"] == "FAILED"


@pytest.mark.parametrize("callback", [None, {}, "", "{}"])
def test_an_empty_callback_context_at_the_first_invocation_may_ask_again(iam: Any, callback: Any) -> None:
    event = _first_ask("no-such-profile")
    event["requestContext"] = {"invocation": 1, "callbackContext": callback}
    assert guard.evaluate(event, BotoIam(iam), _never).response["hookStatus"] == "IN_PROGRESS"


@pytest.mark.parametrize("invocation", [None, "x", True, 1.5])
def test_an_unreadable_invocation_counts_as_asked(iam: Any, invocation: Any) -> None:
    event = _first_ask("no-such-profile")
    event["requestContext"] = {"invocation": invocation, "callbackContext": None}
    assert guard.evaluate(event, BotoIam(iam), _never).response["hookStatus"] == "FAILED"


# -- 8. names no profile of this account can have --------------------------------------------------------


def _launch_template(arn: str) -> dict[str, Any]:
    return _resource_event(
        "AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {"IamInstanceProfile": {"Arn": arn}}}
    )


@pytest.mark.parametrize(
    ("arn", "part"),
    [
        ("arn:aws:iam::210987654321:instance-profile/console-role", "account"),
        ("arn:aws-cn:iam::123456789012:instance-profile/console-role", "partition"),
    ],
)
def test_a_profile_arn_of_another_account_or_partition_fails_without_asking(
    iam: Any, arn: str, part: str
) -> None:
    counting = CountingIam()
    verdict = guard.evaluate(_launch_template(arn), counting, _never)

    assert [f.code for f in verdict.findings] == ["E9009"]
    assert f"instance profile of {part}" in verdict.response["message"]
    assert counting.calls == []
    # The same profile of this account passes (moto's IAM holds console-role).
    same = _launch_template("arn:aws:iam::123456789012:instance-profile/console-role")
    assert guard.evaluate(same, BotoIam(iam), _never).response["hookStatus"] == "SUCCESS"


def test_the_account_judged_in_may_come_from_the_function() -> None:
    event = _launch_template("arn:aws:iam::123456789012:instance-profile/console-role")
    verdict = guard.evaluate(event, CountingIam(), _never, home=Home("aws", "999999999999"))
    assert [f.code for f in verdict.findings] == ["E9009"]


@pytest.mark.parametrize("name", ["app role", "team/app", "x" * 129, "rôle"])
def test_a_name_iam_cannot_hold_fails_without_asking(name: str) -> None:
    counting = CountingIam()
    event = _resource_event("AWS::EC2::Instance", {"IamInstanceProfile": name})
    event["requestContext"] = {"invocation": 1, "callbackContext": None}

    verdict = guard.evaluate(event, counting, _never)

    assert (verdict.response["hookStatus"], [f.code for f in verdict.findings]) == ("FAILED", ["E9009"])
    assert "can name no instance profile" in verdict.response["message"]
    assert counting.calls == []


# -- 9. the STACK path fails closed; 3. the previous template is read only when a finding needs it --------


def _raw_payload(payload: object) -> guard.Fetch:
    return lambda url: json.dumps(payload).encode()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"template": "{}"},
        {"template": json.dumps({"AWSTemplateFormatVersion": "2010-09-09"})},
        {"body": _ROLE_AS_PROFILE},
        {"template": ""},
        {"template": "just text"},
        [_ROLE_AS_PROFILE],
    ],
)
def test_a_payload_without_a_template_is_an_internal_failure(payload: object) -> None:
    response = guard.evaluate(_stack_event(), CountingIam(), _raw_payload(payload)).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")


def test_a_clean_template_never_reads_the_previous_one() -> None:
    unreadable = "Resources: [unclosed"
    response = guard.evaluate(_stack_event(), CountingIam(), _payload(_CLEAN, unreadable)).response
    assert response["hookStatus"] == "SUCCESS"


def test_an_unchanged_template_is_not_read_at_all() -> None:
    unreadable = "Resources: [unclosed"
    response = guard.evaluate(_stack_event(), CountingIam(), _payload(unreadable, unreadable)).response
    assert response["hookStatus"] == "SUCCESS"


def test_a_finding_is_excused_by_the_previous_template_read_on_demand() -> None:
    same = guard.evaluate(_stack_event(), CountingIam(), _payload(_ROLE_AS_PROFILE, _ROLE_AS_PROFILE))
    assert same.response["hookStatus"] == "SUCCESS"
    first = guard.evaluate(_stack_event(), CountingIam(), _payload(_ROLE_AS_PROFILE, ""))
    assert [f.code for f in first.findings] == ["E9001"]


# -- 6. a YAML error: where, never what -------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "Resources:\n  Web: *secret-alias-name\n" + "x" * 20_000,
        "Resources:\n  Web: !!python/object:secret.Tag {}\n",
        "Resources:\n  Web: [" + "'sk-live-0123456789', " * 2000,
    ],
)
def test_a_yaml_error_says_where_and_quotes_no_template_text(template: str) -> None:
    response = guard.evaluate(_stack_event(), CountingIam(), _payload(template)).response

    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
    message = response["message"]
    assert "line" in message and len(message) <= 200
    for secret in ("secret", "sk-live", "xxxx"):
        assert secret not in message


# -- 5. bounded answers -----------------------------------------------------------------------------------


def test_ten_thousand_findings_answer_within_lambdas_limits() -> None:
    arns = [f"arn:aws:iam::123456789012:role/app-{n}" for n in range(10_000)]
    event = _resource_event("AWS::EC2::EC2Fleet", _fleet(arns))
    event["requestData"]["targetLogicalId"] = "Fleet" * 2000

    verdict = guard.evaluate(event, CountingIam(), _never)

    assert len(verdict.findings) == 10_000
    response = verdict.response
    assert len(response["annotations"]) == guard.MAX_ANNOTATIONS
    assert "9901 more" in response["annotations"][-1]["statusMessage"]
    assert len(response["message"]) <= guard.MESSAGE_LIMIT
    assert len(json.dumps(response)) < 200_000  # Lambda's limit is 6 MB


def test_at_the_annotation_limit_every_finding_has_its_own() -> None:
    arns = [f"arn:aws:iam::123456789012:role/app-{n}" for n in range(guard.MAX_ANNOTATIONS)]
    response = guard.evaluate(
        _resource_event("AWS::EC2::EC2Fleet", _fleet(arns)), CountingIam(), _never
    ).response
    names = {a["annotationName"] for a in response["annotations"]}
    assert len(response["annotations"]) == guard.MAX_ANNOTATIONS and names == {"ProfileExpandE9001"}


# -- 7. a payload URL an HTTP request cannot carry -------------------------------------------------------


@pytest.mark.parametrize("bad", ["\t", " ", "\n", "\x00", "\u00a0"])
def test_a_payload_url_with_whitespace_or_control_characters_is_refused(bad: str) -> None:
    url = S3_URL.replace("payload.json", f"pay{bad}load.json")
    assert not guard.is_payload_url(url)
    response = guard.evaluate(_stack_event(url=url), CountingIam(), _never).response
    assert (response["hookStatus"], response["errorCode"]) == ("FAILED", "InternalFailure")
