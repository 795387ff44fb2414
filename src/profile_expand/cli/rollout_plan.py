"""The rollout's plan, made without calling AWS: the options checked, the built SAM template turned into the
stack set's plain CloudFormation template, its code zipped once; and the plan in words (the dry run)."""

from __future__ import annotations

import copy
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import profile_expand
from profile_expand.cli import files
from profile_expand.cli.yaml_io import decode
from profile_expand.core import cfn
from profile_expand.core.cfn import to_plain
from profile_expand.core.errors import ProfileExpandError, TemplateSyntaxError, missing_extra

DEFAULT_BUILT_TEMPLATE: Final = Path(".aws-sam") / "build" / "template.yaml"
DEFAULT_STACK_SET: Final = "profile-expand-macro"
# The guard: `sam build -t guard.yaml --build-dir .aws-sam/guard` (make sam-build).
DEFAULT_GUARD_BUILT_TEMPLATE: Final = Path(".aws-sam") / "guard" / "template.yaml"
DEFAULT_GUARD_STACK_SET: Final = "profile-expand-guard"
# Who calls StackSets: the management account (SELF) or a delegated administrator of the organization.
SELF: Final = "SELF"
DELEGATED_ADMIN: Final = "DELEGATED_ADMIN"
CALL_AS: Final = (SELF, DELEGATED_ADMIN)
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
    # StackSets' CallAs (SELF or DELEGATED_ADMIN), sent with every StackSets call; None: not sent (SELF).
    call_as: str | None = None

    @property
    def permission_model(self) -> str:
        return SERVICE_MANAGED if self.organizational_units else SELF_MANAGED

    @property
    def what(self) -> str:
        """What the stack set deploys, in words: the guard (a Lambda hook) or the macro."""
        types = {r.get(cfn.TYPE) for r in self.template.get(cfn.RESOURCES, {}).values()}
        return "ProfileExpand guard" if LAMBDA_HOOK_TYPE in types else "ProfileExpand macro"


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
    call_as: str | None = None,
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
    if call_as is not None and call_as not in CALL_AS:
        problems.append(f"--call-as {call_as!r}: one of {', '.join(CALL_AS)}")
    if call_as == DELEGATED_ADMIN and not units:
        problems.append(
            f"--call-as {DELEGATED_ADMIN} is for service-managed stack sets (--organizational-units): a "
            "delegated administrator of the organization cannot administer self-managed ones"
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
    refused_values = [
        problem
        for key, value in (parameters or {}).items()
        if (problem := parameter_value_problem(key, value, declared[key]))
    ]
    if refused_values:
        raise RolloutError("; ".join(refused_values))
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
        call_as=call_as,
    )


def parameter_value_problem(key: str, value: str, declaration: Any) -> str | None:
    """Why CloudFormation would refuse `value` for the template's parameter `key`: not one of its
    AllowedValues, or not matching its AllowedPattern (each item of a list type on its own)."""
    if not isinstance(declaration, Mapping):
        return None
    kind = declaration.get(cfn.TYPE)
    is_list = isinstance(kind, str) and (kind == "CommaDelimitedList" or kind.startswith("List<"))
    items = [item.strip() for item in value.split(",")] if is_list else [value]
    allowed = declaration.get("AllowedValues")
    if isinstance(allowed, list):
        words = [_parameter_text(v) for v in allowed]
        wrong = [item for item in items if item not in words]
        if wrong:
            return (
                f"--parameter {key}={value}: {', '.join(map(repr, wrong))} is not an allowed value of "
                f"{key} (AllowedValues: {', '.join(words)})"
            )
    pattern = declaration.get("AllowedPattern")
    if isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error:
            return None  # a Java-only construct: CloudFormation will judge it
        wrong = [item for item in items if not compiled.fullmatch(item)]
        if wrong:
            return (
                f"--parameter {key}={value}: {', '.join(map(repr, wrong))} does not match the "
                f"AllowedPattern of {key}, {pattern}"
            )
    return None


def _parameter_text(value: object) -> str:
    """A value of AllowedValues as CloudFormation compares it: YAML's true and 7 are "true" and "7"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
        from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
        from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
        from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
    except ImportError as error:
        raise RolloutError(
            "translating the built SAM template needs " + missing_extra(error, "rollout")
        ) from error
    import boto3  # there: SAM's translator module imports it (a missing boto3 is said just above)

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
    if plan.call_as:
        lines.append(f"  every StackSets call made with CallAs {plan.call_as}")
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
