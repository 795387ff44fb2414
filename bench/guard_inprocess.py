"""The guard's rows measured in this process (issue 24): a ~0.95 MB STACK template on UPDATE (YAML through
libyaml, through the pure-Python parser, and JSON), CPU seconds; a resource event answered within the
deadline while IAM takes 4.5 s a call (a slow IAM endpoint on the loopback address, the real handler and
botocore client, real time); IAM calls of a 500-instance stack (moto's IAM in-process, counted by
botocore's before-call event), without and with the warm container's memory.

The function runs on arm64 with libyaml bundled; this machine's x86_64 PyYAML has its own libyaml, so
the YAML rows compare the two parsers here. Rows of `make bench`; `python -m bench.guard_inprocess` prints them.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, NamedTuple

import yaml

from bench.generators import MAX_RESOURCES, generate_template
from bench.targets import Target
from profile_expand import expand
from profile_expand.core import template_text
from profile_expand.guard import hook

YAML_BYTES = 950_000
# CloudFormation's 500 resources, the two of _MISTAKE included.
RESOURCES = MAX_RESOURCES - 2
YAML_CPU_TARGET_S = 2.0
SLOW_IAM_SECONDS = 4.5
FUNCTION_TIMEOUT_S = 25.0
STACK_INSTANCES = 500
STACK_PROFILES = 5
URL = "https://hooks.s3.us-east-1.amazonaws.com/payload.json"
# A finding only the new template has: the previous template must then be read to excuse nothing.
_MISTAKE = {
    "BenchRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    "Mistake": {"Type": "AWS::EC2::Instance", "Properties": {"IamInstanceProfile": {"Ref": "BenchRole"}}},
}


class GuardRows(NamedTuple):
    yaml_bytes: int
    json_bytes: int
    cpu_s: dict[str, float]  # libyaml, pure YAML, JSON: one UPDATE judged, median CPU seconds
    slow_status: str
    slow_cause: str
    slow_seconds: float
    slow_calls: int
    calls_cold: int
    calls_warm: int


def _yaml(template: Any) -> str:
    return str(yaml.safe_dump(template, sort_keys=False, default_flow_style=False, width=10_000))


def sized_yaml_template() -> dict[str, Any]:
    """The expansion of the benchmark's 500-resource template whose YAML is at most YAML_BYTES."""
    low, high = 0, 64
    while high - low > 1:
        middle = (low + high) // 2
        template = expand(generate_template(RESOURCES, payload=middle))
        template.pop("Transform", None)
        if len(_yaml(template)) <= YAML_BYTES:
            low = middle
        else:
            high = middle
    template = expand(generate_template(RESOURCES, payload=low))
    template.pop("Transform", None)  # a deployable template, as a stack without the macro submits it
    return template


def _stack_event() -> dict[str, Any]:
    return {
        "clientRequestToken": "bench",
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1",
        "actionInvocationPoint": "UPDATE_PRE_PROVISION",
        "requestData": {
            "targetName": "STACK",
            "targetType": "STACK",
            "targetLogicalId": "bench",
            "payload": URL,
        },
        "requestContext": {"invocation": 1, "callbackContext": None},
    }


def _cpu(run: Callable[[], Any], rounds: int) -> float:
    spent = []
    for _ in range(rounds):
        start = time.process_time()
        run()
        spent.append(time.process_time() - start)
    return sorted(spent)[len(spent) // 2]


def measure_update(rounds: int = 5) -> tuple[int, int, dict[str, float]]:
    """CPU seconds to judge one UPDATE whose new template has a finding the previous has not (both read)."""
    previous = sized_yaml_template()
    current = {**previous, "Resources": {**previous["Resources"], **_MISTAKE}}
    payloads = {
        "YAML, libyaml": json.dumps({"template": _yaml(current), "previousTemplate": _yaml(previous)}),
        "JSON": json.dumps({"template": json.dumps(current), "previousTemplate": json.dumps(previous)}),
    }
    payloads["YAML, pure Python"] = payloads["YAML, libyaml"]
    cpu: dict[str, float] = {}
    original = template_text.safe_loader
    for label, body in payloads.items():
        data = body.encode()
        if label == "YAML, pure Python":
            template_text.safe_loader = _pure
        try:
            judge = partial(hook.evaluate, _stack_event(), _NoIam(), partial(_fetched, data))
            if [f.code for f in judge().findings] != ["E9001"]:
                raise RuntimeError(f"bench: the UPDATE was judged {judge().response}")
            cpu[label] = _cpu(judge, rounds)
        finally:
            template_text.safe_loader = original
    yaml_bytes = len(json.loads(payloads["YAML, libyaml"])["template"])
    return yaml_bytes, len(json.loads(payloads["JSON"])["template"]), cpu


def _fetched(data: bytes, url: str) -> bytes:
    return data


def _pure() -> type[Any]:
    return yaml.SafeLoader


class _NoIam:
    def instance_profile(self, name: str) -> None:
        raise AssertionError("a STACK target asks IAM nothing")

    def role(self, name: str) -> None:
        raise AssertionError("a STACK target asks IAM nothing")


# -- a slow IAM ---------------------------------------------------------------------------------------

_NO_SUCH_ENTITY = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    b"<Code>NoSuchEntity</Code><Message>none</Message></Error><RequestId>r</RequestId></ErrorResponse>"
)


class _SlowIam(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        time.sleep(SLOW_IAM_SECONDS)
        self.send_response(404)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(_NO_SUCH_ENTITY)))
        self.end_headers()
        self.wfile.write(_NO_SUCH_ENTITY)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def slow_iam() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowIam)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Context:
    """A Lambda context whose remaining time counts down from the function's Timeout, in real time."""

    aws_request_id = "bench"
    function_name = "profile-expand-guard"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:profile-expand-guard"
    memory_limit_in_mb = 256

    def __init__(self) -> None:
        self.ends = time.monotonic() + FUNCTION_TIMEOUT_S

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


def _handler_with(client: Any, recent: Any = None) -> Any:
    from profile_expand.guard import aws
    from profile_expand.guard import handler as guard_handler

    guard_handler._IAM = client  # type: ignore[misc]
    guard_handler._RECENT = recent or aws.RecentIam()  # type: ignore[misc]
    return guard_handler


def _client(endpoint: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    from profile_expand.guard import aws

    config = Config(
        connect_timeout=aws.CONNECT_TIMEOUT_SECONDS,
        read_timeout=aws.READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def _instance_event(name: str, logical_id: str) -> dict[str, Any]:
    return {
        "clientRequestToken": logical_id,
        "awsAccountId": "123456789012",
        "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1",
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "requestData": {
            "targetName": "AWS::EC2::Instance",
            "targetType": "AWS::EC2::Instance",
            "targetLogicalId": logical_id,
            "targetModel": {"resourceProperties": {"IamInstanceProfile": name}},
        },
        "requestContext": {"invocation": 2, "callbackContext": {"askedAgain": True}},
    }


def measure_slow_iam() -> tuple[str, str, float, int]:
    """The real handler, its IAM 4.5 s a call: the answer, its cause, wall seconds, calls made."""
    import logging

    with slow_iam() as endpoint:
        guard_handler = _handler_with(_client(endpoint))
        logging.getLogger(guard_handler.SERVICE).disabled = True
        overrides = [{"IamInstanceProfile": {"Name": f"profile-{n}"}} for n in range(40)]
        event = _instance_event("unused", "Fleet")
        event["requestData"].update(
            targetName="AWS::EC2::EC2Fleet",
            targetType="AWS::EC2::EC2Fleet",
            targetModel={"resourceProperties": {"LaunchTemplateConfigs": [{"Overrides": overrides}]}},
        )
        _SlowIam.calls = 0
        start = time.monotonic()
        response = guard_handler.lambda_handler(event, _Context())
        seconds = time.monotonic() - start
        logging.getLogger(guard_handler.SERVICE).disabled = False
    return (
        f"{response['hookStatus']}/{response.get('errorCode')}",
        response["message"][:60],
        seconds,
        _SlowIam.calls,
    )


def measure_stack_calls() -> tuple[int, int]:
    """IAM calls for a 500-instance stack (five profiles), each instance its own invocation: every
    invocation in a fresh container, then all in one warm container."""
    import logging

    from moto import mock_aws

    from profile_expand.guard import aws

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    counts = []
    with mock_aws():
        client = _client()
        for n in range(STACK_PROFILES):
            client.create_role(RoleName=f"web-{n}", AssumeRolePolicyDocument=json.dumps(trust))
            client.create_instance_profile(InstanceProfileName=f"web-{n}")
            client.add_role_to_instance_profile(InstanceProfileName=f"web-{n}", RoleName=f"web-{n}")
        calls = [0]
        client.meta.events.register("before-call.iam.*", lambda **kwargs: calls.__setitem__(0, calls[0] + 1))
        for warm in (False, True):
            calls[0] = 0
            recent = aws.RecentIam()
            guard_handler = _handler_with(client, recent)
            logging.getLogger(guard_handler.SERVICE).disabled = True
            for n in range(STACK_INSTANCES):
                if not warm:
                    guard_handler._RECENT = aws.RecentIam()
                event = _instance_event(f"web-{n % STACK_PROFILES}", f"Web{n}")
                if guard_handler.lambda_handler(event, _Context())["hookStatus"] != "SUCCESS":
                    raise RuntimeError("bench: a correct instance was not passed")
            logging.getLogger(guard_handler.SERVICE).disabled = False
            counts.append(calls[0])
    return counts[0], counts[1]


def measure(rounds: int = 5) -> GuardRows:
    import os

    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # the handler's EMF lines are not the bench's output
    yaml_bytes, json_bytes, cpu = measure_update(rounds)
    status, cause, seconds, slow_calls = measure_slow_iam()
    cold, warm = measure_stack_calls()
    return GuardRows(yaml_bytes, json_bytes, cpu, status, cause, seconds, slow_calls, cold, warm)


def targets(rows: GuardRows | None) -> list[Target]:
    if rows is None:
        return []
    return [
        Target(
            f"guard: STACK UPDATE, {rows.yaml_bytes / 1e6:.2f} MB YAML (libyaml), CPU",
            rows.cpu_s["YAML, libyaml"],
            YAML_CPU_TARGET_S,
            "s",
        ),
        Target(
            f"guard: resource event, IAM {SLOW_IAM_SECONDS} s a call, answered within (wall)",
            rows.slow_seconds,
            FUNCTION_TIMEOUT_S,
            "s",
            strict=True,
        ),
    ]


def section(rows: GuardRows | None) -> str:
    lines = ["", "## The guard in this process: large templates, a slow IAM, a large stack", ""]
    if rows is None:
        return "\n".join([*lines, "Not measured.", ""])
    lines += [
        "One UPDATE of a STACK target whose new template has a finding the previous has not (so both are "
        "read), judged by `hook.evaluate` with the payload in memory; median CPU seconds of 5 "
        f"(`time.process_time`). YAML {rows.yaml_bytes:,} bytes, JSON {rows.json_bytes:,} bytes, a template "
        "and its previous version each. The function bundles libyaml for arm64; here x86_64 PyYAML's.",
        "",
        "| template | CPU s | target |",
        "|---|---|---|",
        *(
            f"| {label} | {value:.2f} | {'at most ' + str(YAML_CPU_TARGET_S) if label == 'YAML, libyaml' else ''} |"
            for label, value in rows.cpu_s.items()
        ),
        "",
        f"A resource event naming 40 profiles, IAM answering each call after {SLOW_IAM_SECONDS} s (an HTTP "
        "server on the loopback address; the real handler and botocore client; a context counting down "
        f"{FUNCTION_TIMEOUT_S:.0f} s): answered **{rows.slow_status}** after **{rows.slow_seconds:.1f} s** "
        f"({rows.slow_calls} calls started; {rows.slow_cause!r}...).",
        "",
        f"IAM calls of a {STACK_INSTANCES}-instance stack naming {STACK_PROFILES} profiles (each instance is "
        f"its own invocation; moto's IAM): **{rows.calls_cold}** with every invocation in a fresh container, "
        f"**{rows.calls_warm}** with all in one warm container (a profile holding a role is remembered "
        "60 s). With C warm containers the stack costs at most C x profiles calls a minute.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    print(section(measure()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
