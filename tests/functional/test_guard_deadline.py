"""Issue 24: the guard always answers in time, and says why when it cannot judge. One deadline an
invocation (the Lambda context's remaining time less a margin) bounds every IAM call and the payload's
fetch; IAM's answers about profiles holding a role are remembered a minute in a warm container, never
to blame a template with; the log names an internal failure's cause, bounded, never a value.

Slow and failing IAM is a fake client on a fake clock (moto answers at once and cannot be made slow or
time out); the trickled and malformed payloads are a real HTTP server on the loopback address.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from bench import guard_local
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from profile_expand.core.account import ProfileFacts, RoleFacts
from profile_expand.core.errors import GuardUnavailable
from profile_expand.guard import aws
from profile_expand.guard import hook as guard
from tests.functional.test_guard import _event, _fleet, _never, _resource_event
from tests.support import FakeLambdaContext, log_to_current_stdout

_EC2_TRUST = guard_local._EC2_TRUST
_LAMBDA_TRUST = guard_local._LAMBDA_TRUST


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SlowIam:
    """A boto3 IAM client's two calls, each taking `seconds` on the fake clock; `failures` first."""

    def __init__(self, clock: Clock, seconds: float, failures: list[Exception] | None = None) -> None:
        self.clock, self.seconds, self.failures = clock, seconds, list(failures or [])
        self.calls = 0

    def _answer(self) -> None:
        self.calls += 1
        self.clock.now += self.seconds
        if self.failures:
            raise self.failures.pop(0)

    def get_instance_profile(self, InstanceProfileName: str) -> dict[str, Any]:
        self._answer()
        role = {"RoleName": "r", "Path": "/", "AssumeRolePolicyDocument": _EC2_TRUST}
        return {"InstanceProfile": {"InstanceProfileName": InstanceProfileName, "Path": "/", "Roles": [role]}}

    def get_role(self, RoleName: str) -> dict[str, Any]:
        self._answer()
        return {"Role": {"RoleName": RoleName, "Path": "/"}}


def _boto_iam(client: Any, clock: Clock, seconds: float = 25.0) -> aws.BotoIam:
    deadline = aws.Deadline(seconds, clock=clock)
    return aws.BotoIam(client, deadline, sleep=lambda s: setattr(clock, "now", clock.now + s))


# -- the deadline: slow IAM, flaky IAM ---------------------------------------------------------------


def test_an_iam_taking_4_5_s_a_call_is_answered_within_the_deadline() -> None:
    clock = Clock()
    start = clock.now
    client = SlowIam(clock, 4.5)
    event = _resource_event("AWS::EC2::EC2Fleet", _fleet([f"profile-{n}" for n in range(40)]))

    verdict = guard.evaluate(event, _boto_iam(client, clock), _never)

    assert (verdict.response["hookStatus"], verdict.response["errorCode"]) == ("FAILED", "InternalFailure")
    assert verdict.cause == "deadline (GetInstanceProfile)"
    assert clock.now - start <= 25.0 - aws.MARGIN_SECONDS
    assert client.calls == 4  # started only while a whole attempt fits


def test_two_timeouts_then_an_answer_is_judged() -> None:
    clock = Clock()
    timeout = ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/")
    client = SlowIam(clock, aws.READ_TIMEOUT_SECONDS, failures=[timeout, timeout])

    verdict = guard.evaluate(
        _resource_event("AWS::EC2::Instance", {"IamInstanceProfile": "web"}), _boto_iam(client, clock), _never
    )

    assert verdict.response["hookStatus"] == "SUCCESS"
    assert client.calls == 3


def test_three_timeouts_are_an_internal_failure_naming_the_cause() -> None:
    clock = Clock()
    timeout = ReadTimeoutError(endpoint_url="https://iam.amazonaws.com/")
    client = SlowIam(clock, 1.0, failures=[timeout] * 3)
    verdict = guard.evaluate(
        _resource_event("AWS::EC2::Instance", {"IamInstanceProfile": "web"}), _boto_iam(client, clock), _never
    )
    assert verdict.response["errorCode"] == "InternalFailure"
    assert verdict.cause == "GetInstanceProfile: ReadTimeoutError"


def test_access_denied_is_not_retried() -> None:
    clock = Clock()
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetInstanceProfile")
    client = SlowIam(clock, 0.1, failures=[denied, denied])
    verdict = guard.evaluate(
        _resource_event("AWS::EC2::Instance", {"IamInstanceProfile": "web"}), _boto_iam(client, clock), _never
    )
    assert (verdict.cause, client.calls) == ("GetInstanceProfile: AccessDenied", 1)


def test_the_deadline_is_read_from_the_lambda_context() -> None:
    class Context(FakeLambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 7000

    assert aws.Deadline.of(Context()).left() == pytest.approx(7.0 - aws.MARGIN_SECONDS, abs=0.5)
    assert aws.Deadline.of(FakeLambdaContext(), fallback_seconds=9.0).left() <= 9.0 - aws.MARGIN_SECONDS


# -- the payload: a trickle, a URL an HTTP request cannot carry ------------------------------------------


class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100_000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickle() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/payload"
    server.shutdown()
    server.server_close()


def test_a_trickled_payload_ends_at_the_deadline(trickle: str) -> None:
    with pytest.raises(GuardUnavailable) as raised:
        aws.read_url(trickle, aws.Deadline(aws.MARGIN_SECONDS + 0.5))
    assert raised.value.cause == "deadline (payload)"


@pytest.mark.parametrize("bad", ["\t", " "])
def test_a_url_with_whitespace_raises_no_invalid_url_and_names_no_secret(bad: str) -> None:
    url = f"https://b.s3.amazonaws.com/p{bad}q?X-Amz-Security-Token=SECRETTOKEN&X-Amz-Signature=SIG0123"
    with pytest.raises(GuardUnavailable) as refused:
        aws.fetch_payload(url)
    # read_url is the fetch behind the URL check: even there InvalidURL is a GuardUnavailable.
    with pytest.raises(GuardUnavailable) as raised:
        aws.read_url(url, aws.Deadline(10.0))
    for error in (refused.value, raised.value):
        assert "SECRETTOKEN" not in f"{error} {error.cause}" and error.__cause__ is None


# -- remembering IAM's answers in a warm container -----------------------------------------------------


class MutableIam:
    """IAM whose one profile's role may be swapped between asks; counts the calls."""

    def __init__(self, trust: object) -> None:
        self.trust = trust
        self.calls = 0

    def instance_profile(self, name: str) -> ProfileFacts | None:
        self.calls += 1
        return ProfileFacts(name, "/", (RoleFacts("r", "/", self.trust),))

    def role(self, name: str) -> RoleFacts | None:
        self.calls += 1
        return None


def _instance(name: str, logical_id: str = "Web") -> dict[str, Any]:
    event = _resource_event("AWS::EC2::Instance", {"IamInstanceProfile": name})
    event["requestData"]["targetLogicalId"] = logical_id
    return event


def test_a_500_instance_stack_asks_iam_once_a_warm_container() -> None:
    clock, iam = Clock(), MutableIam(_EC2_TRUST)
    recent = aws.RecentIam(clock)
    for n in range(500):
        clock.now += 0.05  # 500 resources in 25 s
        verdict = guard.evaluate(_instance("web", f"Web{n}"), recent.asking(iam), _never)
        assert verdict.response["hookStatus"] == "SUCCESS"
        assert recent.calls == (1 if n == 0 else 0)  # what the IamCalls metric counts
    assert iam.calls == 1


def test_a_backoff_past_the_deadline_never_sleeps_a_negative_time() -> None:
    clock = Clock()
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow"}}, "GetInstanceProfile")
    # The throttled answer itself comes after the deadline has passed.
    client = SlowIam(clock, aws.ATTEMPT_SECONDS + 1.0, failures=[throttled] * 3)
    deadline = aws.Deadline(aws.MARGIN_SECONDS + aws.ATTEMPT_SECONDS, clock=clock)

    def sleep(seconds: float) -> None:
        assert seconds >= 0  # time.sleep raises ValueError on a negative time

    verdict = guard.evaluate(_instance("web"), aws.BotoIam(client, deadline, sleep=sleep), _never)
    assert verdict.cause == "deadline (GetInstanceProfile)"


def test_a_remembered_answer_expires() -> None:
    clock, iam = Clock(), MutableIam(_EC2_TRUST)
    recent = aws.RecentIam(clock)
    guard.evaluate(_instance("web"), recent.asking(iam), _never)
    clock.now += aws.REMEMBER_SECONDS
    guard.evaluate(_instance("web"), recent.asking(iam), _never)
    assert iam.calls == 2


def test_a_remembered_answer_never_blames_a_template() -> None:
    clock, iam = Clock(), MutableIam(_LAMBDA_TRUST)
    recent = aws.RecentIam(clock)
    first = guard.evaluate(_instance("web"), recent.asking(iam), _never)
    assert [f.code for f in first.findings] == ["E9007"]

    iam.trust = _EC2_TRUST  # the author fixes the role's trust and deploys again at once
    again = guard.evaluate(_instance("web"), recent.asking(iam), _never)

    assert again.response["hookStatus"] == "SUCCESS"


def test_missing_profiles_are_never_remembered() -> None:
    class Missing(MutableIam):
        def instance_profile(self, name: str) -> ProfileFacts | None:
            self.calls += 1
            return None

    clock, iam = Clock(), Missing(_EC2_TRUST)
    recent = aws.RecentIam(clock)
    recent.asking(iam).instance_profile("web")
    recent.asking(iam).instance_profile("web")
    assert iam.calls == 2 and recent.remembered == {}


# -- the handler's log: the cause named, every field bounded ----------------------------------------------


def _log_here(guard_handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    log_to_current_stdout(guard_handler.SERVICE, monkeypatch)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        from profile_expand.guard import handler as guard_handler

        client = boto3.client("iam", region_name="us-east-1")
        guard_local.seed_iam(client)
        monkeypatch.setattr(guard_handler, "_IAM", client)
        monkeypatch.setattr(guard_handler, "_RECENT", aws.RecentIam())
        yield guard_handler


def test_access_denied_is_logged_with_its_cause_and_counted(
    handler: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.stub import Stubber

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(handler, "_IAM", client)
    _log_here(handler, monkeypatch)
    capsys.readouterr()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_instance_profile", service_error_code="AccessDenied", http_status_code=403
        )
        response = handler.lambda_handler(_event("hook_ec2_instance_role_name.json"), FakeLambdaContext())

    assert response["errorCode"] == "InternalFailure"
    logged = capsys.readouterr().out
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    (warning,) = [r for r in records if r.get("message") == "Hook not judged: internal failure"]
    assert warning["cause"] == "GetInstanceProfile: AccessDenied"
    assert "app-role" not in logged
    assert any(r.get("InternalFailures") == [1.0] or r.get("InternalFailures") == 1.0 for r in records)


def test_a_10_mb_logical_id_is_logged_cut(
    handler: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _log_here(handler, monkeypatch)
    event = _event("hook_ec2_instance_role_name.json")
    event["requestData"]["targetLogicalId"] = "W" * 10_000_000
    event["requestData"]["targetName"] = "AWS::EC2::Instance"
    capsys.readouterr()
    response = handler.lambda_handler(copy.deepcopy(event), FakeLambdaContext())

    assert response["errorCode"] == "NonCompliant"
    assert len(json.dumps(response)) < 20_000
    lines = capsys.readouterr().out.splitlines()
    assert any('"logicalIdCount"' in line for line in lines)  # the log line is here, and bounded
    for line in lines:
        assert len(line) < 4096


def test_ten_thousand_findings_log_a_bounded_line(
    handler: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _log_here(handler, monkeypatch)
    arns = [f"arn:aws:iam::123456789012:role/app-{n}" for n in range(10_000)]
    event = _resource_event("AWS::EC2::EC2Fleet", _fleet(arns))
    capsys.readouterr()
    handler.lambda_handler(event, FakeLambdaContext())
    lines = capsys.readouterr().out.splitlines()
    assert any('"logicalIdCount"' in line for line in lines)  # the log line is here, and bounded
    for line in lines:
        assert len(line) < 4096
