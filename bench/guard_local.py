"""The guard on a Lambda runtime: `sam local invoke` of the built guard.yaml with every events/hook_*.json,
its IAM answered by a moto server on this machine (botocore reads AWS_ENDPOINT_URL_IAM).

The server listens on the Docker bridge's host address (172.17.0.1), not on 127.0.0.1: SAM CLI 1.170
starts the function's container on the bridge network and ignores `--docker-network host`
(samcli/local/docker/container.py connects only networks other than "host"), so the container's loopback
is its own. The bridge address is as local: it is reachable from this host and its containers only.

`make local-invoke` runs it after the macro's events; tests/integration/test_guard_local_invoke.py and the
guard's benchmark rows use the same pieces. Each answer must equal the in-process core's on the same IAM,
and the verdict written for the event in EXPECTED.

moto models IAM's GetInstanceProfile and GetRole; it never invokes hooks (a stack with a LambdaHook
resource skips it with a warning), so the hook's side of CloudFormation is the fixture events here.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from bench import sam_local

ROOT = sam_local.ROOT
GUARD_TEMPLATE = ROOT / "guard.yaml"
GUARD_BUILD_DIR = ROOT / ".aws-sam" / "guard"
GUARD_FUNCTION = "GuardFunction"
ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
# Credentials moto accepts; set for the sam process so the container gets these and never real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

_EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class Expected(NamedTuple):
    """The verdict an event must get: hookStatus, errorCode (None on SUCCESS / IN_PROGRESS), codes found."""

    status: str
    error_code: str | None = None
    codes: tuple[str, ...] = ()


NON_COMPLIANT = "NonCompliant"
INTERNAL = "InternalFailure"
EXPECTED: dict[str, Expected] = {
    "hook_ec2_instance_role_name.json": Expected("FAILED", NON_COMPLIANT, ("E9006",)),
    "hook_ec2_instance_console_role.json": Expected("SUCCESS"),
    "hook_ec2_instance_missing.json": Expected("IN_PROGRESS"),
    "hook_ec2_instance_missing_asked_again.json": Expected("FAILED", NON_COMPLIANT, ("E9009",)),
    "hook_launch_template_role_arn.json": Expected("FAILED", NON_COMPLIANT, ("E9001",)),
    "hook_launch_template_profile_arn.json": Expected("SUCCESS"),
    "hook_update_unchanged.json": Expected("SUCCESS"),
    "hook_update_changed.json": Expected("FAILED", NON_COMPLIANT, ("E9006",)),
    "hook_delete.json": Expected("SUCCESS"),
    "hook_token_lowercase_untrusted_role.json": Expected("FAILED", NON_COMPLIANT, ("E9007",)),
    "hook_cloud_control_batch.json": Expected("FAILED", NON_COMPLIANT, ("E9006",)),
    "hook_instance_profile_role_arn.json": Expected("FAILED", NON_COMPLIANT, ("E9005",)),
    "hook_rds_custom_prefix.json": Expected("FAILED", NON_COMPLIANT, ("E9008",)),
    "hook_not_a_site.json": Expected("SUCCESS"),
    "hook_stack_refused_url.json": Expected("FAILED", INTERNAL),
    "hook_malformed_no_request_data.json": Expected("FAILED", INTERNAL),
    # IAM's eventual consistency: a role visible before its same-named profile, a profile before its role
    # is added, are asked again once; never at a third invocation, whatever the callbackContext holds.
    "hook_ec2_instance_role_name_first_ask.json": Expected("IN_PROGRESS"),
    "hook_ec2_instance_profile_without_role.json": Expected("IN_PROGRESS"),
    "hook_ec2_instance_role_name_third_invocation.json": Expected("FAILED", NON_COMPLIANT, ("E9006",)),
    "hook_ec2_instance_missing_context_string.json": Expected("FAILED", NON_COMPLIANT, ("E9009",)),
    # Names no profile of this account can have: judged without asking IAM.
    "hook_launch_template_foreign_account_arn.json": Expected("FAILED", NON_COMPLIANT, ("E9009",)),
    "hook_ec2_instance_name_iam_cannot_hold.json": Expected("FAILED", NON_COMPLIANT, ("E9009",)),
}


def hook_events() -> list[Path]:
    return sorted(sam_local.EVENTS.glob(f"{sam_local.HOOK_EVENT_PREFIX}*.json"))


def seed_iam(iam: Any) -> None:
    """The account the fixture events are judged in.

    app-role: a role made by code (no profile of its name); console-role: a role with its same-named
    profile, as the console makes them; lambda-profile holds a role only Lambda may assume;
    AWSRDSCustom-db holds a role as RDS Custom wants it; empty-profile holds no role (yet).
    """
    for name, trust in (
        ("app-role", _EC2_TRUST),
        ("console-role", _EC2_TRUST),
        ("lambda-role", _LAMBDA_TRUST),
        ("AWSRDSCustomRole", _EC2_TRUST),
    ):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    for profile, role in (
        ("console-role", "console-role"),
        ("lambda-profile", "lambda-role"),
        ("AWSRDSCustom-db", "AWSRDSCustomRole"),
    ):
        iam.create_instance_profile(InstanceProfileName=profile)
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.create_instance_profile(InstanceProfileName="empty-profile")


class IamServer(NamedTuple):
    endpoint: str
    client: Any


def bridge_address() -> str:
    """The host's address on Docker's default bridge: where the function's container reaches this host."""
    done = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(done.stdout)[0]
    gateway = config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    return str(gateway)


@contextmanager
def iam_server(address: str = "127.0.0.1", seed: bool = True) -> Iterator[IamServer]:
    """A moto server on `address` (a free port), its IAM seeded with seed_iam()."""
    import boto3
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one request line per IAM call otherwise
    server = ThreadedMotoServer(ip_address=address, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        if seed:
            seed_iam(client)
        yield IamServer(endpoint, client)
    finally:
        server.stop()


def no_network(url: str) -> bytes:
    """The fetch of the in-process reference: the fixture events never need a payload fetched."""
    from profile_expand.core.errors import GuardUnavailable

    raise GuardUnavailable(f"no payload is fetched here ({url[:40]})")


def in_process(event: Any, client: Any) -> dict[str, Any]:
    """What the pure core answers for this event on this IAM."""
    from profile_expand.guard.aws import BotoIam
    from profile_expand.guard.hook import evaluate

    return evaluate(event, BotoIam(client), no_network).response


def verdict_problems(name: str, response: Any) -> list[str]:
    """How a response differs from EXPECTED for its event."""
    expected = EXPECTED.get(name)
    if expected is None:
        return [f"{name} has no entry in bench.guard_local.EXPECTED"]
    if not isinstance(response, dict):
        return [f"no hook response: {response!r}"]
    problems = []
    if response.get("hookStatus") != expected.status or response.get("errorCode") != expected.error_code:
        problems.append(
            f"{response.get('hookStatus')}/{response.get('errorCode')}, expected "
            f"{expected.status}/{expected.error_code}: {str(response.get('message'))[:300]}"
        )
    codes = tuple(
        sorted({a["annotationName"].removeprefix("ProfileExpand") for a in response.get("annotations", [])})
    )
    if codes != expected.codes:
        problems.append(f"codes {codes}, expected {expected.codes}")
    return problems


def build_local(build_dir: Path = GUARD_BUILD_DIR) -> Path:
    """`sam build -t guard.yaml`; returns the built template."""
    return sam_local.sam_build(build_dir, GUARD_TEMPLATE)


def local_variant(built: Path, endpoint: str) -> Path:
    """The built guard for this host's architecture, its IAM endpoint the moto server."""
    return sam_local.host_variant(
        built,
        function=GUARD_FUNCTION,
        environment={"AWS_ENDPOINT_URL_IAM": endpoint, "POWERTOOLS_METRICS_DISABLED": "true"},
    )


def invoke(template: Path, event: Path) -> sam_local.Invocation:
    """sam local invoke of the guard on Docker's default bridge, where the moto server listens (see above)."""
    return sam_local.invoke(template, event, function=GUARD_FUNCTION, env=FAKE_CREDENTIALS)


def mismatches(invocation: sam_local.Invocation, event: Any, client: Any) -> list[str]:
    """How the local answer differs from the in-process core's and from EXPECTED."""
    found = [*invocation.problems, *verdict_problems(invocation.event, invocation.response)]
    expected = in_process(event, client)
    if isinstance(invocation.response, dict) and invocation.response != expected:
        keys = sorted(
            k for k in {*expected, *invocation.response} if expected.get(k) != invocation.response.get(k)
        )
        found.append(f"differs from the in-process core's answer in {keys}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "events", nargs="*", type=Path, help="hook events (default: every events/hook_*.json)"
    )
    args = parser.parse_args(argv)
    events = args.events or hook_events()
    why = sam_local.docker_unavailable()
    if why:
        print(f"local-invoke (guard): cannot run: {why}", file=sys.stderr)
        return 2
    print(f"local-invoke (guard): {sam_local.ensure_base_image()}")
    built = build_local()
    os.environ.update(FAKE_CREDENTIALS)
    failed = 0
    with iam_server(bridge_address()) as server:
        variant = local_variant(built, server.endpoint)
        print(f"local-invoke (guard): {variant.relative_to(ROOT)}, IAM at {server.endpoint} (moto)")
        for path in events:
            invocation = invoke(variant, path)
            problems = mismatches(invocation, json.loads(path.read_text(encoding="utf-8")), server.client)
            status = invocation.response.get("hookStatus") if isinstance(invocation.response, dict) else None
            print(
                f"{path.name}: {'ok' if not problems else 'MISMATCH'} ({status}) | {invocation.report.line}"
            )
            for problem in problems:
                print(f"    {problem}")
            failed += bool(problems)
    print(f"local-invoke (guard): {len(events) - failed} of {len(events)} hook events answered as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
