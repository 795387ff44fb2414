"""`profile-expand rollout`: the macro (or, with --guard, the guard) in many regions and accounts, through
one StackSet: self-managed (--accounts), or service-managed (--organizational-units, deployed to every
account of those OUs, new ones included).

The `sam build` output is packaged once, copied to one bucket per region (`<prefix>-<region>`, since
Lambda reads code only from its own region), and the stack set deploys that template, translated to
plain CloudFormation, with each function's code taken from `<prefix>-${AWS::Region}`. A region where a
resource type of the template does not exist (cfn-lint's region data) is refused before anything is done.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import profile_expand
from profile_expand.cli import files
from profile_expand.cli.yaml_io import decode, dump_json
from profile_expand.core import cfn
from profile_expand.core.cfn import to_plain
from profile_expand.core.errors import ProfileExpandError, TemplateSyntaxError

PROG: Final = "profile-expand rollout"
DEFAULT_BUILT_TEMPLATE: Final = Path(".aws-sam") / "build" / "template.yaml"
DEFAULT_STACK_SET: Final = "profile-expand-macro"
# The guard: `sam build -t guard.yaml --build-dir .aws-sam/guard` (make sam-build).
DEFAULT_GUARD_BUILT_TEMPLATE: Final = Path(".aws-sam") / "guard" / "template.yaml"
DEFAULT_GUARD_STACK_SET: Final = "profile-expand-guard"
SELF_MANAGED: Final = "SELF_MANAGED"
SERVICE_MANAGED: Final = "SERVICE_MANAGED"
LAMBDA_HOOK_TYPE: Final = "AWS::CloudFormation::LambdaHook"
# The function's role is unnamed (CAPABILITY_IAM); NAMED_IAM too, in case a later template names one.
CAPABILITIES: Final = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
SAR_METADATA: Final = "AWS::ServerlessRepo::Application"
# A placeholder bucket while SAM translates; replaced by `<prefix>-${AWS::Region}` afterwards.
_PLACEHOLDER_BUCKET: Final = "profile-expand-rollout-placeholder"
# Local paths `sam build` leaves in the built template, per resource type: (SAM property, CFN property).
_ARTIFACTS: Final = {
    "AWS::Serverless::Function": ("CodeUri", "Code"),
    "AWS::Serverless::LayerVersion": ("ContentUri", "Content"),
    "AWS::Lambda::Function": ("Code", "Code"),
    "AWS::Lambda::LayerVersion": ("Content", "Content"),
}
_CFN_ARTIFACT_TYPES: Final = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}
_REGION: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT: Final = re.compile(r"^\d{12}$")
_BUCKET: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STACK_SET_NAME: Final = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
# An organizational unit, or the organization's root.
_OU: Final = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
# A zip's entries carry this date so that the same files give the same bytes (and the same S3 key).
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)
_DONE: Final = {"SUCCEEDED", "FAILED", "STOPPED"}


class RolloutError(ProfileExpandError):
    """The rollout cannot be planned or did not complete; the message says what to do."""


class Artifact(NamedTuple):
    """One zip of a built code folder, uploaded under the same key to every region's bucket."""

    logical_id: str
    source: Path
    key: str
    data: bytes
    sha256: str


class Plan(NamedTuple):
    """Everything the rollout will do, computed without calling AWS (the dry run prints it)."""

    stack_set_name: str
    admin_region: str
    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    buckets: Mapping[str, str]  # region -> bucket
    artifacts: tuple[Artifact, ...]
    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    administration_role_arn: str | None
    execution_role_name: str | None
    # Service-managed: the OUs deployed to (accounts is then empty), automatic deployment to new accounts.
    organizational_units: tuple[str, ...] = ()

    @property
    def permission_model(self) -> str:
        return SERVICE_MANAGED if self.organizational_units else SELF_MANAGED

    @property
    def what(self) -> str:
        """What the stack set deploys, in words: the guard (a Lambda hook) or the macro."""
        types = {r.get(cfn.TYPE) for r in self.template.get(cfn.RESOURCES, {}).values()}
        return "ProfileExpand guard" if LAMBDA_HOOK_TYPE in types else "ProfileExpand macro"


# -- planning (no AWS calls) -------------------------------------------------------------------------


def make_plan(
    built_template: Path,
    *,
    regions: Sequence[str],
    accounts: Sequence[str],
    bucket_prefix: str,
    admin_region: str | None = None,
    stack_set_name: str = DEFAULT_STACK_SET,
    parameters: Mapping[str, str] | None = None,
    administration_role_arn: str | None = None,
    execution_role_name: str | None = None,
    organizational_units: Sequence[str] = (),
) -> Plan:
    """The rollout of the `sam build` output at `built_template`; a RolloutError names what is wrong."""
    regions = _unique(regions)
    accounts = _unique(accounts)
    units = _unique(organizational_units)
    problems = [
        f"region {r!r} is not a region name (like eu-west-1)" for r in regions if not _REGION.match(r)
    ]
    problems += [f"account {a!r} is not a 12-digit account ID" for a in accounts if not _ACCOUNT.match(a)]
    problems += [
        f"organizational unit {u!r} is not an OU ID (ou-xxxx-xxxxxxxx) or root (r-xxxx)"
        for u in units
        if not _OU.match(u)
    ]
    if not regions:
        problems.append("no region given (--regions eu-west-1,us-east-1)")
    if units and accounts:
        problems.append(
            "--accounts (self-managed) and --organizational-units (service-managed) cannot be mixed: "
            "one stack set has one permission model"
        )
    if units and (administration_role_arn or execution_role_name):
        problems.append(
            "--administration-role-arn and --execution-role-name are for self-managed stack sets; "
            "service-managed ones use the organization's service-linked roles"
        )
    if not accounts and not units:
        problems.append("no account given (--accounts 111111111111,222222222222)")
    if not _STACK_SET_NAME.match(stack_set_name):
        problems.append(f"stack set name {stack_set_name!r}: a letter, then letters, digits and hyphens")
    buckets = {region: f"{bucket_prefix}-{region}" for region in regions}
    for region, bucket in buckets.items():
        if not _BUCKET.match(bucket) or ".." in bucket or len(bucket) > 63:
            problems.append(
                f"bucket {bucket!r} (--bucket-prefix {bucket_prefix!r} + region {region}) is not a valid S3 "
                "bucket name: 3 to 63 lowercase letters, digits, dots and hyphens"
            )
    if problems:
        raise RolloutError("; ".join(problems))
    built = _read_built_template(built_template)
    template, artifacts = stack_set_template(built, built_template.parent, bucket_prefix)
    refused = [problem for region in regions if (problem := region_problem(template, region))]
    if refused:
        raise RolloutError("; ".join(refused))
    declared = template.get(cfn.PARAMETERS, {})
    unknown = sorted(set(parameters or {}) - set(declared))
    if unknown:
        raise RolloutError(
            f"--parameter {', '.join(unknown)}: not a parameter of {built_template} "
            f"(it has {', '.join(declared) or 'none'})"
        )
    return Plan(
        stack_set_name=stack_set_name,
        admin_region=admin_region or regions[0],
        regions=regions,
        accounts=accounts,
        buckets=buckets,
        artifacts=artifacts,
        template=template,
        parameters=dict(parameters or {}),
        administration_role_arn=administration_role_arn,
        execution_role_name=execution_role_name,
        organizational_units=units,
    )


def region_problem(template: Mapping[str, Any], region: str) -> str | None:
    """Why the template cannot deploy in `region`: resource types that cfn-lint's region data does not
    have there (AWS::CloudFormation::LambdaHook in the aws-cn and aws-us-gov partitions, today)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]

    available = set(PROVIDER_SCHEMA_MANAGER.get_resource_types(region))
    types = {r.get(cfn.TYPE) for r in template.get(cfn.RESOURCES, {}).values() if isinstance(r, Mapping)}
    missing = sorted(t for t in types if isinstance(t, str) and t.startswith("AWS::") and t not in available)
    if not missing:
        return None
    return (
        f"region {region}: {', '.join(missing)} does not exist there (cfn-lint's region data), so the "
        "stack set's instances would fail; leave it out of --regions"
    )


def stack_set_template(
    built: Mapping[str, Any], build_dir: Path, bucket_prefix: str
) -> tuple[dict[str, Any], tuple[Artifact, ...]]:
    """The built SAM template as plain CloudFormation taking its code from `<prefix>-${AWS::Region}`.

    Each local code folder is zipped once; its key names the package version and the zip's digest, so
    a changed bundle is a changed key and CloudFormation updates the function.
    """
    template = copy.deepcopy(dict(built))
    # The SAR block names local files (README, LICENSE) that only `sam publish` uploads.
    metadata = template.get(cfn.METADATA)
    if isinstance(metadata, dict):
        metadata.pop(SAR_METADATA, None)
        if not metadata:
            del template[cfn.METADATA]
    artifacts: list[Artifact] = []
    for logical_id, resource in template.get(cfn.RESOURCES, {}).items():
        kind = resource.get(cfn.TYPE) if isinstance(resource, Mapping) else None
        if kind not in _ARTIFACTS:
            continue
        sam_property, _ = _ARTIFACTS[kind]
        properties = resource.setdefault(cfn.PROPERTIES, {})
        value = properties.get(sam_property)
        if not isinstance(value, str) or value.startswith("s3://"):
            continue  # inline code, an image, or already in S3: nothing to copy
        artifact = _zip_folder(logical_id, build_dir / value)
        artifacts.append(artifact)
        if kind.startswith("AWS::Serverless::"):
            properties[sam_property] = f"s3://{_PLACEHOLDER_BUCKET}/{artifact.key}"
        else:
            properties[sam_property] = {"S3Bucket": _PLACEHOLDER_BUCKET, "S3Key": artifact.key}
    translated = _translate(template) if _is_sam(template) else template
    _point_code_at_regional_bucket(translated, bucket_prefix)
    return translated, tuple(artifacts)


def _read_built_template(path: Path) -> dict[str, Any]:
    try:
        text = files.read_template(str(path))
    except files.UnreadableInputError as error:
        raise RolloutError(
            f"{error.message}: run `sam build` first, or name the built template with --built-template"
        ) from error
    try:
        template = to_plain(decode(text, str(path)).nodes)
    except TemplateSyntaxError as error:
        raise RolloutError(f"{path}:{error.line}:{error.column}: {error.message}") from error
    if not isinstance(template, dict) or not isinstance(template.get(cfn.RESOURCES), dict):
        raise RolloutError(f"{path} has no Resources: is it a template?")
    return template


def _zip_folder(logical_id: str, folder: Path) -> Artifact:
    if not folder.is_dir():
        raise RolloutError(f"resource {logical_id}: its code folder {folder} does not exist; run `sam build`")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    key = f"profile-expand/{profile_expand.__version__}/{logical_id}-{digest[:16]}.zip"
    return Artifact(logical_id, folder, key, data, digest)


def _is_sam(template: Mapping[str, Any]) -> bool:
    transform = template.get(cfn.TRANSFORM)
    names = transform if isinstance(transform, list) else [transform]
    return any(isinstance(name, str) and name.startswith("AWS::Serverless") for name in names)


def _translate(template: dict[str, Any]) -> dict[str, Any]:
    """SAM -> CloudFormation, locally: the stack set's stacks then need no transform at all."""
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
        from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
        from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
    except ImportError as error:
        raise RolloutError(
            f"rollout needs boto3 and aws-sam-translator: pip install 'profile-expand[rollout]' ({error})"
        ) from error
    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        # Only the region is read from the session; the output uses AWS::Region/AWS::Partition.
        boto_session=boto3.session.Session(region_name="us-east-1"),
    )
    try:
        result: dict[str, Any] = translator.translate(sam_template=template, parameter_values={})
    except InvalidDocumentException as error:
        causes = getattr(error, "causes", []) or [error]
        raise RolloutError(
            "SAM cannot translate the built template: " + "; ".join(map(str, causes))
        ) from error
    return result


def _point_code_at_regional_bucket(template: Mapping[str, Any], bucket_prefix: str) -> None:
    regional = {"Fn::Sub": f"{bucket_prefix}-${{AWS::Region}}"}
    for resource in template.get(cfn.RESOURCES, {}).values():
        prop = _CFN_ARTIFACT_TYPES.get(resource.get(cfn.TYPE, ""))
        code = resource.get(cfn.PROPERTIES, {}).get(prop) if prop else None
        if isinstance(code, dict) and code.get("S3Bucket") == _PLACEHOLDER_BUCKET:
            code["S3Bucket"] = regional
            code.pop("S3ObjectVersion", None)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def describe(plan: Plan) -> str:
    """The plan in words: what a dry run prints."""
    if plan.organizational_units:
        lines = [
            f"Stack set {plan.stack_set_name} ({plan.what}; service-managed permissions), administered "
            f"from {plan.admin_region}",
            "  automatic deployment: on, to every account that joins these organizational units",
            "  the organization's management account gets no instance: deploy the template there as a stack",
        ]
    else:
        lines = [
            f"Stack set {plan.stack_set_name} ({plan.what}; self-managed permissions), administered from "
            f"{plan.admin_region}",
            f"  administration role: {plan.administration_role_arn or 'AWSCloudFormationStackSetAdministrationRole (default)'}",
            f"  execution role in each account: {plan.execution_role_name or 'AWSCloudFormationStackSetExecutionRole (default)'}",
        ]
    lines += [f"  capabilities: {', '.join(CAPABILITIES)}", "Code, packaged once:"]
    for artifact in plan.artifacts:
        lines.append(
            f"  {artifact.logical_id}: {artifact.source} -> {artifact.key} "
            f"({len(artifact.data):,} bytes, sha256 {artifact.sha256[:16]})"
        )
    lines.append("Buckets (created if missing; the code uploaded to each):")
    lines.extend(f"  {region}: s3://{bucket}" for region, bucket in plan.buckets.items())
    lines.append("Template: " + ", ".join(f"{k} {v}" for k, v in sorted(_type_counts(plan.template).items())))
    if plan.parameters:
        lines.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in plan.parameters.items()))
    if plan.organizational_units:
        lines.append(
            f"Stack instances: every account of {len(plan.organizational_units)} organizational unit(s) "
            f"x {len(plan.regions)} region(s)"
        )
        lines.extend(f"  {unit} {region}" for unit in plan.organizational_units for region in plan.regions)
        return "\n".join(lines)
    lines.append(
        f"Stack instances: {len(plan.accounts)} account(s) x {len(plan.regions)} region(s) = "
        f"{len(plan.accounts) * len(plan.regions)}"
    )
    lines.extend(f"  {account} {region}" for account in plan.accounts for region in plan.regions)
    return "\n".join(lines)


def _type_counts(template: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in template.get(cfn.RESOURCES, {}).values():
        counts[resource.get(cfn.TYPE)] = counts.get(resource.get(cfn.TYPE), 0) + 1
    return counts


# -- applying (boto3) --------------------------------------------------------------------------------


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
            _wait(
                cloudformation, plan.stack_set_name, operation_id, poll_seconds, timeout_seconds, sleep, say
            )

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
        "StackSetName": plan.stack_set_name,
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
        cloudformation.describe_stack_set(StackSetName=plan.stack_set_name)
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
        for page in _pages(cloudformation, plan.stack_set_name):
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
            StackSetName=plan.stack_set_name,
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


def _pages(cloudformation: Any, name: str) -> Iterable[list[dict[str, Any]]]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"StackSetName": name}
        if token:
            kwargs["NextToken"] = token
        response = cloudformation.list_stack_instances(**kwargs)
        yield response.get("Summaries", [])
        token = response.get("NextToken")
        if not token:
            return


def _wait(
    cloudformation: Any,
    name: str,
    operation_id: str,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> None:
    waited = 0.0
    while True:
        operation = cloudformation.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)
        status = operation["StackSetOperation"]["Status"]
        if status in _DONE:
            say(f"operation {operation_id}: {status}")
            if status != "SUCCEEDED":
                raise RolloutError(
                    f"stack set operation {operation_id} {status}; see `aws cloudformation "
                    f"list-stack-set-operation-results --stack-set-name {name} --operation-id {operation_id}`"
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
    for page in _pages(cloudformation, plan.stack_set_name):
        for summary in page:
            detailed = summary.get("StackInstanceStatus", {}).get("DetailedStatus", "")
            status = f"{summary.get('Status', '')}/{detailed}" if detailed else summary.get("Status", "")
            results.append(
                InstanceResult(summary["Account"], summary["Region"], status, summary.get("StatusReason", ""))
            )
    return sorted(results)


# -- command line ------------------------------------------------------------------------------------


def register(commands: Any) -> None:
    """Add the `rollout` subcommand to the CLI's subparsers."""
    parser = commands.add_parser(
        "rollout",
        help="deploy the macro (or the guard) to many regions and accounts with a CloudFormation StackSet",
        description=__doc__,
    )
    parser.add_argument("--regions", required=True, type=_comma_list, help="comma-separated target regions")
    targets = parser.add_mutually_exclusive_group(required=True)
    targets.add_argument(
        "--accounts", type=_comma_list, default=[], help="comma-separated 12-digit account IDs (self-managed)"
    )
    targets.add_argument(
        "--organizational-units",
        type=_comma_list,
        default=[],
        help="comma-separated OU IDs (service-managed: every account of them, new ones included)",
    )
    parser.add_argument(
        "--guard",
        action="store_true",
        help=f"deploy the guard (guard.yaml built to {DEFAULT_GUARD_BUILT_TEMPLATE}) rather than the macro",
    )
    parser.add_argument("--bucket-prefix", required=True, help="code buckets are <prefix>-<region>")
    parser.add_argument(
        "--stack-set-name", help=f"default {DEFAULT_STACK_SET} ({DEFAULT_GUARD_STACK_SET} with --guard)"
    )
    parser.add_argument("--admin-region", help="where the stack set lives (default: the first of --regions)")
    parser.add_argument(
        "--built-template",
        type=Path,
        help=f"the template `sam build` wrote (default: {DEFAULT_BUILT_TEMPLATE}, {DEFAULT_GUARD_BUILT_TEMPLATE} with --guard)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stack set parameter (repeatable)",
    )
    parser.add_argument("--administration-role-arn")
    parser.add_argument("--execution-role-name")
    parser.add_argument("--template-out", type=Path, help="also write the stack set's template here (JSON)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; call no AWS API")
    parser.add_argument("--profile", help="AWS named profile for boto3")
    parser.set_defaults(run=run)


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    """The subcommand: 0 done, 1 the rollout failed, 2 nothing was done (bad options or input)."""
    try:
        parameters = dict(_key_value(item) for item in args.parameter)
        guard = bool(getattr(args, "guard", False))
        built = args.built_template or (DEFAULT_GUARD_BUILT_TEMPLATE if guard else DEFAULT_BUILT_TEMPLATE)
        plan = make_plan(
            built,
            regions=args.regions,
            accounts=args.accounts,
            bucket_prefix=args.bucket_prefix,
            admin_region=args.admin_region,
            stack_set_name=args.stack_set_name or (DEFAULT_GUARD_STACK_SET if guard else DEFAULT_STACK_SET),
            parameters=parameters,
            administration_role_arn=args.administration_role_arn,
            execution_role_name=args.execution_role_name,
            organizational_units=args.organizational_units,
        )
    except RolloutError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.template_out:
        try:
            files.write_atomic(args.template_out, dump_json(plan.template))
        except OSError as error:
            print(
                f"{PROG}: error: cannot write {args.template_out}: {error.strerror or error}", file=sys.stderr
            )
            return 2
    print(describe(plan))
    if args.dry_run:
        print("Dry run: nothing was created or changed.")
        return 0
    try:
        import boto3
    except ImportError:
        print(f"{PROG}: error: needs boto3: pip install 'profile-expand[rollout]'", file=sys.stderr)
        return 2
    try:
        results = apply(plan, boto3.session.Session(profile_name=args.profile))
    except RolloutError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    failed = [r for r in results if not r.status.startswith("CURRENT")]
    for result in results:
        print(f"{result.account} {result.region} {result.status} {result.reason}".rstrip())
    return 1 if failed else 0


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise RolloutError(f"--parameter {item!r}: write KEY=VALUE")
    return key, value
