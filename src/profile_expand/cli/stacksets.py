"""The rollout's AWS calls (boto3): a bucket per region holding the code, then the stack set and its
instances, waiting for each StackSets operation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, NamedTuple

import profile_expand
from profile_expand.cli.rollout_plan import CAPABILITIES, Plan, RolloutError
from profile_expand.cli.yaml_io import dump_json

_DONE: Final = {"SUCCEEDED", "FAILED", "STOPPED"}


class InstanceResult(NamedTuple):
    account: str
    region: str
    status: str
    reason: str


def apply(
    plan: Plan,
    session: Any,
    *,
    say: Callable[[str], None] = print,
    poll_seconds: float = 10.0,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[InstanceResult]:
    """Buckets, uploads, stack set, instances; waits for each operation. Returns every instance's status."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        caller = session.client("sts", region_name=plan.admin_region).get_caller_identity()["Account"]
        organization = None
        if plan.organizational_units:
            organizations = session.client("organizations", region_name=plan.admin_region)
            organization = organizations.describe_organization()["Organization"]["Id"]
        for region, bucket in plan.buckets.items():
            s3 = session.client("s3", region_name=region)
            _ensure_bucket(s3, bucket, region, plan, caller, say, organization)
        cloudformation = session.client("cloudformation", region_name=plan.admin_region)

        def wait(operation_id: str) -> None:
            _wait(cloudformation, plan, operation_id, poll_seconds, timeout_seconds, sleep, say)

        _deploy_stack_set(cloudformation, plan, say, wait)
        return _instances(cloudformation, plan)
    except ClientError as error:
        info = error.response.get("Error", {})
        raise RolloutError(
            f"{error.operation_name}: {info.get('Code', 'error')}: {info.get('Message', error)}"
        ) from error
    except BotoCoreError as error:
        raise RolloutError(f"AWS: {error}") from error


def _ensure_bucket(
    s3: Any,
    bucket: str,
    region: str,
    plan: Plan,
    caller: str,
    say: Callable[[str], None],
    organization: str | None = None,
) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        created = False
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("403", "AccessDenied", "Forbidden"):
            raise RolloutError(
                f"s3://{bucket} exists but this account may not use it (bucket names are global): "
                "choose another --bucket-prefix"
            ) from error
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        configuration = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **configuration)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        created = True
        say(f"created s3://{bucket} in {region}")
    others = [account for account in plan.accounts if account != caller]
    if organization and created:
        # Every account of the organization may be an instance's, now or after it joins.
        s3.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps(_organization_read_policy(bucket, organization))
        )
        say(f"s3://{bucket}: accounts of organization {organization} may read profile-expand/*")
    elif organization:
        say(
            f"s3://{bucket} existed: its policy is left as it is; the accounts of organization {organization} "
            "must be able to read profile-expand/*"
        )
    elif others and created:
        # CloudFormation creates each function with the target account's execution role: it must read the code.
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_read_policy(bucket, others)))
        say(f"s3://{bucket}: accounts {', '.join(others)} may read profile-expand/*")
    elif others:
        say(
            f"s3://{bucket} existed: its policy is left as it is; accounts {', '.join(others)} must be able to read profile-expand/*"
        )
    for artifact in plan.artifacts:
        try:
            s3.head_object(Bucket=bucket, Key=artifact.key)
            say(f"s3://{bucket}/{artifact.key} already there (same digest)")
            continue
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=artifact.key, Body=artifact.data)
        say(f"uploaded s3://{bucket}/{artifact.key}")


def _read_policy(bucket: str, accounts: Sequence[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProfileExpandStackSetAccountsReadCode",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/profile-expand/*",
            }
        ],
    }


def _organization_read_policy(bucket: str, organization: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProfileExpandOrganizationReadsCode",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/profile-expand/*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization}},
            }
        ],
    }


def _deploy_stack_set(
    cloudformation: Any, plan: Plan, say: Callable[[str], None], wait: Callable[[str], None]
) -> None:
    """Create or update the stack set, then add the missing instances, waiting for each operation.

    A stack set runs one operation at a time, so the update must finish before instances are added.
    """
    from botocore.exceptions import ClientError

    common: dict[str, Any] = {
        **stack_set(plan),
        "TemplateBody": dump_json(plan.template),
        "Capabilities": list(CAPABILITIES),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in plan.parameters.items()],
        "PermissionModel": plan.permission_model,
        "Description": f"{plan.what} {profile_expand.__version__}",
    }
    if plan.organizational_units:
        # New accounts of the OUs get an instance on joining; a leaving account's stack is deleted.
        common["AutoDeployment"] = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    if plan.administration_role_arn:
        common["AdministrationRoleARN"] = plan.administration_role_arn
    if plan.execution_role_name:
        common["ExecutionRoleName"] = plan.execution_role_name
    preferences = {"RegionConcurrencyType": "PARALLEL", "FailureToleranceCount": 0, "MaxConcurrentCount": 1}
    try:
        cloudformation.describe_stack_set(**stack_set(plan))
        exists = True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "StackSetNotFoundException":
            raise
        exists = False
    existing: set[tuple[str, str]] = set()
    # Self-managed instances are (account, region); service-managed ones are placed by (OU, region).
    key = "OrganizationalUnitId" if plan.organizational_units else "Account"
    targets = plan.organizational_units or plan.accounts
    if exists:
        for page in _pages(cloudformation, plan):
            existing.update((s.get(key, ""), s["Region"]) for s in page)
        # Updates every instance it already has, in any account or region.
        operation = cloudformation.update_stack_set(**common, OperationPreferences=preferences)
        say(f"updating stack set {plan.stack_set_name} ({len(existing)} existing instance(s))")
        wait(operation["OperationId"])
    else:
        cloudformation.create_stack_set(**common)
        say(f"created stack set {plan.stack_set_name}")
    wanted = [(t, r) for t in targets for r in plan.regions if (t, r) not in existing]
    if wanted:
        # The API takes accounts (or OUs) x regions; instances that already exist in that product are an
        # error only for real conflicts, and a new region for an old account is the common case.
        chosen = sorted({t for t, _ in wanted})
        where = (
            {"DeploymentTargets": {"OrganizationalUnitIds": chosen}}
            if plan.organizational_units
            else {"Accounts": chosen}
        )
        operation = cloudformation.create_stack_instances(
            **stack_set(plan),
            Regions=sorted({r for _, r in wanted}),
            OperationPreferences=preferences,
            **where,
        )
        say(
            f"adding stack instances to {len(wanted)} OU x region pair(s)"
            if plan.organizational_units
            else f"adding {len(wanted)} stack instance(s)"
        )
        wait(operation["OperationId"])
    left = sorted(existing - {(t, r) for t in targets for r in plan.regions})
    for account, region in left:
        say(f"left alone: instance {account} {region} is not in --accounts x --regions (it was updated too)")


def stack_set(plan: Plan) -> dict[str, str]:
    """The stack set as every StackSets call names it: its name, and CallAs when --call-as is given
    (each call the rollout makes takes CallAs; a delegated administrator must send it on all of them)."""
    named = {"StackSetName": plan.stack_set_name}
    if plan.call_as:
        named["CallAs"] = plan.call_as
    return named


def _pages(cloudformation: Any, plan: Plan) -> Iterable[list[dict[str, Any]]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = stack_set(plan)
        if token:
            kwargs["NextToken"] = token
        response = cloudformation.list_stack_instances(**kwargs)
        yield response.get("Summaries", [])
        token = response.get("NextToken")
        if not token:
            return


def _wait(
    cloudformation: Any,
    plan: Plan,
    operation_id: str,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> None:
    name = plan.stack_set_name
    waited = 0.0
    while True:
        operation = cloudformation.describe_stack_set_operation(**stack_set(plan), OperationId=operation_id)
        status = operation["StackSetOperation"]["Status"]
        if status in _DONE:
            say(f"operation {operation_id}: {status}")
            if status != "SUCCEEDED":
                raise RolloutError(
                    f"stack set operation {operation_id} {status}; see `aws cloudformation "
                    f"list-stack-set-operation-results --stack-set-name {name} --operation-id {operation_id}"
                    + (f" --call-as {plan.call_as}`" if plan.call_as else "`")
                )
            return
        if waited >= timeout_seconds:
            raise RolloutError(
                f"stack set operation {operation_id} still {status} after {timeout_seconds:.0f} s"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def _instances(cloudformation: Any, plan: Plan) -> list[InstanceResult]:
    results = []
    for page in _pages(cloudformation, plan):
        for summary in page:
            detailed = summary.get("StackInstanceStatus", {}).get("DetailedStatus", "")
            status = f"{summary.get('Status', '')}/{detailed}" if detailed else summary.get("Status", "")
            results.append(
                InstanceResult(summary["Account"], summary["Region"], status, summary.get("StatusReason", ""))
            )
    return sorted(results)
