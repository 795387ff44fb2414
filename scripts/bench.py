"""Benchmark of the macro (`make bench`): expansion time against a JSON round trip, cold start, memory.

Writes the tables to stdout and to bench/results.md. Timings come from this machine only; rerun to compare.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import profile_expand
from profile_expand import expand

ROOT = Path(__file__).resolve().parent.parent
HANDLER_MODULE = "profile_expand.handler"
# The package as imported (the editable install of this checkout, or whatever PYTHONPATH puts first).
HANDLER_SOURCE = Path(profile_expand.__file__).resolve().parent / "handler.py"
SAM_TEMPLATE = ROOT / "template.yaml"
RESULTS = ROOT / "bench" / "results.md"

# CloudFormation's limits for a processed template: 500 resources, 1 MB (taken here as 1 MiB of compact JSON).
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_048_576
SIZES = (10, 100, 500)
# Targets of issue 4.
RATIO_TARGET = 1.0
IMPORT_BUDGET_MS = 15.0
# "Well under the function's memory setting", read here as at most half of MemorySize.
MEMORY_SHARE = 0.5

# A group is a role and the three sites that use it (in three value forms), plus two unrelated resources;
# after expansion it is seven resources (the generated profile is the seventh).
GROUP_RESOURCES = 7


# -- template generators -------------------------------------------------------------------------------


def _script(group: int, lines: int) -> dict[str, Any]:
    """UserData as templates carry it: a bootstrap script inside Fn::Base64/Fn::Sub."""
    body = [
        "#!/bin/bash -xe",
        "yum update -y aws-cfn-bootstrap",
        f"/opt/aws/bin/cfn-init -v --stack ${{AWS::StackName}} --resource Web{group} "
        "--region ${AWS::Region}",
    ]
    body += [
        f'echo "step {step}: configure component {step % 17} of group {group}" >> /var/log/bootstrap.log'
        for step in range(lines)
    ]
    body.append(
        f"/opt/aws/bin/cfn-signal -e $? --stack ${{AWS::StackName}} --resource Web{group} "
        "--region ${AWS::Region}"
    )
    return {"Fn::Base64": {"Fn::Sub": "\n".join(body) + "\n"}}


def _tags(group: int, kind: str) -> list[dict[str, Any]]:
    return [
        {"Key": "Name", "Value": {"Fn::Sub": f"${{AWS::StackName}}-{kind}-{group}"}},
        {"Key": "CostCenter", "Value": "platform-engineering"},
        {"Key": "Group", "Value": str(group)},
    ]


def _role(group: int, statements: int) -> dict[str, Any]:
    extra = [
        {
            "Sid": f"Component{group}x{number}",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt"],
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{Bucket{group}}}/component-{number}/*"},
                {"Fn::GetAtt": [f"Bucket{group}", "Arn"]},
            ],
        }
        for number in range(statements)
    ]
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["ec2.amazonaws.com"]},
                        "Action": ["sts:AssumeRole"],
                    }
                ],
            },
            "ManagedPolicyArns": [
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy"},
            ],
            "Policies": [
                {
                    "PolicyName": "bootstrap",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "cloudformation:DescribeStackResource",
                                    "cloudformation:SignalResource",
                                ],
                                "Resource": {"Ref": "AWS::StackId"},
                            },
                            *extra,
                        ],
                    },
                }
            ],
            "Tags": _tags(group, "role"),
        },
    }


def _instance(group: int, lines: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::Instance",
        "Metadata": {
            "AWS::CloudFormation::Init": {
                "config": {
                    "packages": {"yum": {"amazon-cloudwatch-agent": [], "jq": []}},
                    "services": {"sysvinit": {"amazon-cloudwatch-agent": {"enabled": "true"}}},
                }
            }
        },
        "Properties": {
            "ImageId": {"Ref": "ImageId"},
            "InstanceType": "t3.small",
            "SubnetId": {"Fn::Select": [group % 2, {"Ref": "Subnets"}]},
            "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
            "IamRole": {"Ref": f"Role{group}"},
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": True}}
            ],
            "UserData": _script(group, lines),
            "Tags": _tags(group, "web"),
        },
    }


def _launch_template(group: int, lines: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateName": {"Fn::Sub": f"${{AWS::StackName}}-nodes-{group}"},
            "LaunchTemplateData": {
                "ImageId": {"Ref": "ImageId"},
                "InstanceType": "m6i.large",
                "IamRole": {"Fn::GetAtt": [f"Role{group}", "Arn"]},
                "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                "UserData": _script(group, lines),
                "TagSpecifications": [{"ResourceType": "instance", "Tags": _tags(group, "node")}],
            },
        },
    }


def _compute_environment(group: int) -> dict[str, Any]:
    return {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {
            "Type": "MANAGED",
            "State": "ENABLED",
            "ComputeResources": {
                "Type": "EC2",
                "AllocationStrategy": "BEST_FIT_PROGRESSIVE",
                "MinvCpus": 0,
                "MaxvCpus": 256,
                "InstanceTypes": ["optimal"],
                "Subnets": {"Ref": "Subnets"},
                "SecurityGroupIds": [{"Ref": f"Sg{group}"}],
                "IamRole": f"Role{group}",
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": f"Nodes{group}"}, "Version": "$Latest"},
                "Tags": {"Group": str(group)},
            },
        },
    }


def _bucket(number: int) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-old-versions",
                        "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 60}],
                    }
                ]
            },
            "Tags": _tags(number, "bucket"),
        },
    }


def _security_group(number: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": f"Traffic of group {number}",
            "VpcId": {"Ref": "VpcId"},
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "10.0.0.0/8"}
                for port in (22, 80, 443, 8080)
            ],
            "Tags": _tags(number, "sg"),
        },
    }


def _resources(resources: int, lines: int, statements: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Logical ID and resource, in template order, for exactly `resources` resources after expansion."""
    left = resources
    group = 0
    while left >= GROUP_RESOURCES:
        yield f"Role{group}", _role(group, statements)
        yield f"Web{group}", _instance(group, lines)
        yield f"Bucket{group}", _bucket(group)
        yield f"Nodes{group}", _launch_template(group, lines)
        yield f"Sg{group}", _security_group(group)
        yield f"Batch{group}", _compute_environment(group)
        left -= GROUP_RESOURCES
        group += 1
    for extra in range(left):
        number = group + extra
        if extra % 2:
            yield f"Sg{number}", _security_group(number)
        else:
            yield f"Bucket{number}", _bucket(number)


def generate_template(resources: int, *, payload: int = 0) -> dict[str, Any]:
    """A template with exactly `resources` resources once expanded (one generated profile per role).

    `payload` adds lines of UserData to each instance and launch template and a statement per four
    lines to each role's policy: how the large templates of real stacks get large.
    """
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "ProfileExpand",
        "Description": f"Benchmark template: {resources} resources after expansion",
        "Parameters": {
            "ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
            "VpcId": {"Type": "AWS::EC2::VPC::Id"},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
        },
        "Resources": dict(_resources(resources, lines=payload, statements=payload // 4)),
        "Outputs": {"FirstRole": {"Value": {"Fn::GetAtt": ["Role0", "Arn"]}}} if resources >= 7 else {},
    }


def compact_size(template: Any) -> int:
    return len(json.dumps(template, separators=(",", ":")).encode())


def generate_sized_template(target_bytes: int, resources: int) -> dict[str, Any]:
    """The largest template of `resources` resources whose expansion fits `target_bytes` of compact JSON."""
    low, high = 0, 1
    while compact_size(expand(generate_template(resources, payload=high))) <= target_bytes:
        low, high = high, high * 2
    # Invariant: payload `low` fits, payload `high` does not.
    while high - low > 1:
        middle = (low + high) // 2
        if compact_size(expand(generate_template(resources, payload=middle))) <= target_bytes:
            low = middle
        else:
            high = middle
    return generate_template(resources, payload=low)


# -- timing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    label: str
    resources_in: int
    resources_out: int
    bytes_in: int
    expand_s: float  # median per call
    json_s: float  # median per call
    ratio: float  # median of the per-round ratios
    ratio_low: float
    ratio_high: float
    target: float | None


def _calls_for(function: Callable[[], object], seconds: float) -> int:
    """How many calls take about `seconds` (at least one)."""
    calls = 1
    while True:
        spent = timeit.timeit(function, number=calls, timer=time.process_time)
        if spent >= seconds / 4:
            return max(1, round(calls * seconds / spent))
        calls *= 4


def time_expansion(label: str, fragment: dict[str, Any], rounds: int, seconds: float) -> Timing:
    """Time expand() and the JSON round trip of the same fragment, interleaved round by round."""

    def round_trip() -> object:
        return json.loads(json.dumps(fragment))

    def subject() -> object:
        return expand(fragment)

    output = expand(fragment)
    calls = {"json": _calls_for(round_trip, seconds), "expand": _calls_for(subject, seconds)}
    functions = {"json": round_trip, "expand": subject}
    per_call: dict[str, list[float]] = {"json": [], "expand": []}
    ratios = []
    for number in range(rounds):
        # Alternate which one goes first so that neither always runs right after the other's garbage.
        for name in ("json", "expand") if number % 2 == 0 else ("expand", "json"):
            spent = timeit.timeit(functions[name], number=calls[name], timer=time.process_time)
            per_call[name].append(spent / calls[name])
        ratios.append(per_call["expand"][-1] / per_call["json"][-1])
    return Timing(
        label=label,
        resources_in=len(fragment["Resources"]),
        resources_out=len(output["Resources"]),
        bytes_in=compact_size(fragment),
        expand_s=statistics.median(per_call["expand"]),
        json_s=statistics.median(per_call["json"]),
        ratio=statistics.median(ratios),
        ratio_low=min(ratios),
        ratio_high=max(ratios),
        target=RATIO_TARGET if len(output["Resources"]) >= MAX_RESOURCES else None,
    )


def check_expansion(fragment: dict[str, Any], resources: int) -> None:
    """Refuse to time an expansion that did not do the work (a benchmark of an error path is no benchmark)."""
    output = expand(fragment)
    roles = sum(1 for r in fragment["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    profiles = sum(1 for r in output["Resources"].values() if r["Type"] == "AWS::IAM::InstanceProfile")
    if len(output["Resources"]) != resources or profiles != roles:
        raise SystemExit(
            f"bench: expected {resources} resources and {roles} profiles after expansion, "
            f"got {len(output['Resources'])} and {profiles}"
        )
    if "IamRole" in json.dumps(output["Resources"]):
        raise SystemExit("bench: IamRole left in the expanded template")


# -- cold start --------------------------------------------------------------------------------------


def powertools_imports(source: str) -> list[str]:
    """The aws_lambda_powertools modules a module imports at run time (not under TYPE_CHECKING)."""
    found: list[str] = []

    def visit(statements: Sequence[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            found.extend(n for n in names if n.split(".")[0] == "aws_lambda_powertools" and n not in found)

    visit(ast.parse(source).body)
    return found


_IMPORT_PROBE = (
    "import time; wall, cpu = time.perf_counter(), time.process_time(); import {modules}; "
    "print(time.perf_counter() - wall, time.process_time() - cpu)"
)

# Labels of the import subjects.
POWERTOOLS = "aws_lambda_powertools"
POWERTOOLS_AS_HANDLER = "the Powertools modules the handler imports"
HANDLER_CACHED = "handler, bytecode cached"
HANDLER_SOURCE_ONLY = "handler, compiled from source"


def _import_seconds(
    modules: str, env: dict[str, str], python: str = sys.executable, cwd: Path | str = ROOT
) -> tuple[float, float]:
    """Wall and CPU seconds to import `modules` in a fresh interpreter, interpreter start-up excluded."""
    completed = subprocess.run(
        [python, "-c", _IMPORT_PROBE.format(modules=modules)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    wall, cpu = completed.stdout.split()
    return float(wall), float(cpu)


@dataclass(frozen=True)
class ColdStart:
    subjects: dict[str, str]  # label -> modules imported
    cpu_ms: dict[str, list[float]]  # label -> CPU time of each run (time.process_time in the child)
    wall_ms: dict[str, list[float]]  # label -> wall time of each run
    extra_modules: list[tuple[str, float]]  # what the handler imports beyond Powertools, self ms
    runs: int


def _importtime(modules: str, env: dict[str, str]) -> dict[str, float]:
    """Self time in ms of each module imported by `import modules` (python -X importtime)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {modules}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    times: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(self_us) / 1000
    return times


def _bytecode_caches(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for a fresh interpreter: every module's bytecode cached, or all but this project's.

    Both use a private cache (PYTHONPYCACHEPREFIX), filled once and then read-only, so the result does not
    depend on whether this machine happens to write .pyc files. The second is what a bundle of .py files
    on Lambda's read-only /var/task gets: the project's modules compiled at every cold start.
    """
    cached, source_only = folder / "cached", folder / "source-only"
    base = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    warm = {**base, "PYTHONPYCACHEPREFIX": str(cached)}
    subprocess.run([sys.executable, "-c", f"import {HANDLER_MODULE}"], check=True, cwd=ROOT, env=warm)
    shutil.copytree(cached, source_only)
    project = source_only / (HANDLER_SOURCE.parent.relative_to(HANDLER_SOURCE.anchor))
    shutil.rmtree(project)
    frozen = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    return {**frozen, "PYTHONPYCACHEPREFIX": str(cached)}, {**frozen, "PYTHONPYCACHEPREFIX": str(source_only)}


def measure_cold_start(runs: int) -> ColdStart:
    handler_powertools = ", ".join(powertools_imports(HANDLER_SOURCE.read_text()))
    subjects = {
        POWERTOOLS: "aws_lambda_powertools",
        POWERTOOLS_AS_HANDLER: handler_powertools,
        HANDLER_CACHED: HANDLER_MODULE,
        HANDLER_SOURCE_ONLY: HANDLER_MODULE,
    }
    with tempfile.TemporaryDirectory() as folder:
        cached, source_only = _bytecode_caches(Path(folder))
        envs = {label: source_only if label == HANDLER_SOURCE_ONLY else cached for label in subjects}
        for label, modules in subjects.items():  # warm the file cache first
            _import_seconds(modules, envs[label])
        cpu: dict[str, list[float]] = {label: [] for label in subjects}
        wall: dict[str, list[float]] = {label: [] for label in subjects}
        labels = list(subjects)
        for number in range(runs):
            # Rotate the order so that no subject always runs right after the same other one.
            for label in labels[number % len(labels) :] + labels[: number % len(labels)]:
                wall_s, cpu_s = _import_seconds(subjects[label], envs[label])
                wall[label].append(wall_s * 1000)
                cpu[label].append(cpu_s * 1000)
        # Which modules the handler adds beyond Powertools, and their own import time (median of 5 runs).
        handler_runs = [_importtime(HANDLER_MODULE, cached) for _ in range(5)]
        baseline = set(_importtime(handler_powertools, cached))
    extra = {name for name in handler_runs[0] if name not in baseline}
    extra_modules = sorted(
        ((name, statistics.median(run.get(name, 0.0) for run in handler_runs)) for name in extra),
        key=lambda item: -item[1],
    )
    return ColdStart(
        subjects=subjects,
        cpu_ms=cpu,
        wall_ms=wall,
        extra_modules=extra_modules,
        runs=runs,
    )


# -- memory ------------------------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads template.yaml: short-form intrinsics (!Sub, !GetAtt ...) load as None; only plain keys matter."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _function_setting(template_text: str, name: str, default: Any) -> Any:
    """A property of the macro's function in a SAM template: its own, else Globals, else `default`."""
    template = yaml.load(template_text, Loader=_CloudFormationLoader)
    functions = [
        resource.get("Properties") or {}
        for resource in (template.get("Resources") or {}).values()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    ]
    handler = [p for p in functions if p.get("Handler") == f"{HANDLER_MODULE}.lambda_handler"]
    if len(handler) != 1:
        raise ValueError(f"expected one function with handler {HANDLER_MODULE}.lambda_handler")
    globals_ = ((template.get("Globals") or {}).get("Function") or {}).get(name, default)
    return handler[0].get(name, globals_)


def memory_size_mb(template_text: str) -> int:
    """MemorySize of the macro's function in a SAM template (its Globals, else SAM's default of 128)."""
    return int(_function_setting(template_text, "MemorySize", 128))


def runtime_version(template_text: str) -> str:
    """The Python version ("3.13") of the macro function's Runtime ("python3.13") in a SAM template."""
    runtime = _function_setting(template_text, "Runtime", None)
    match = re.fullmatch(r"python(3\.\d+)", str(runtime))
    if not match:
        raise ValueError(f"the macro function's Runtime is {runtime!r}, not a pythonX.Y runtime")
    return match.group(1)


_RSS_PROBE = textwrap.dedent(
    """
    import json, sys
    def rss():
        # (current, peak) RSS in MB. Peak is VmHWM, not ru_maxrss: ru_maxrss of a child carries over the
        # high-water mark of the parent it was forked from, here the benchmark holding all its templates.
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))
    import {handler}
    from profile_expand import expand
    stages = {{"after import": rss()}}
    with open(sys.argv[1], "rb") as source:
        fragment = json.loads(source.read())
    stages["after load"] = rss()
    result = expand(fragment)
    stages["after expand"] = rss()
    text = json.dumps({{"fragment": result}})
    stages["after dump"] = rss()
    print(json.dumps(stages))
    """
)


@dataclass(frozen=True)
class Memory:
    traced_peak_mb: float  # tracemalloc peak during expand(), above what was allocated before
    traced_json_mb: float  # the same for the JSON round trip, for scale
    rss_stages_mb: dict[str, tuple[float, float]]  # stage -> (current, peak)
    memory_size_mb: int


def measure_memory(fragment: dict[str, Any]) -> Memory:
    tracemalloc.start()
    try:
        peaks = []
        for function in (lambda: expand(fragment), lambda: json.loads(json.dumps(fragment))):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            function()
            _, peak = tracemalloc.get_traced_memory()
            peaks.append((peak - before) / 2**20)
    finally:
        tracemalloc.stop()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fragment.json"
        path.write_text(json.dumps(fragment))
        completed = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE.format(handler=HANDLER_MODULE), str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    return Memory(
        traced_peak_mb=peaks[0],
        traced_json_mb=peaks[1],
        rss_stages_mb=json.loads(completed.stdout),
        memory_size_mb=memory_size_mb(SAM_TEMPLATE.read_text()),
    )


# -- cold start on the Lambda runtime's Python -----------------------------------------------------------

BENCH_DIR = ROOT / ".bench"  # gitignored: the runtime venv, made once and reused
REQUIREMENTS = ROOT / "requirements-dev.txt"
BUILD_TARGET = "build-ProfileExpandFunction"  # src/Makefile's target, the one `sam build` runs
RUNTIME_PYTHON_VARIABLE = "BENCH_RUNTIME_PYTHON"

# Labels of the import subjects on the runtime's Python.
RUNTIME_POWERTOOLS = "aws_lambda_powertools"
RUNTIME_HANDLER_SOURCE = "handler, bundle of source (RUNTIME_PYTHON=false)"
RUNTIME_HANDLER_BYTECODE = "handler, bundle with bytecode"


def _normalized_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_version(requirements_text: str, package: str) -> str | None:
    """The version a requirements file pins `package` to with `==`, or None."""
    for line in requirements_text.splitlines():
        match = re.fullmatch(
            r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;]+)\s*(?:;.*)?",
            line.split("#", 1)[0].strip(),
        )
        if match and _normalized_name(match.group(1)) == _normalized_name(package):
            return match.group(2)
    return None


def pyenv_pythons(versions: Path, version: str) -> list[Path]:
    """bin/pythonX.Y of each pyenv release of `version` (3.13, 3.13.0, 3.13.2 ...), newest first.

    Not 3.13t, 3.13-dev or release candidates: Lambda runs a release of the standard build.
    """
    found = []
    if versions.is_dir():
        for folder in versions.iterdir():
            match = re.fullmatch(rf"{re.escape(version)}(?:\.(\d+))?", folder.name)
            executable = folder / "bin" / f"python{version}"
            if match and executable.is_file():
                found.append((int(match.group(1) or -1), executable))
    return [executable for _, executable in sorted(found, reverse=True)]


@dataclass(frozen=True)
class RuntimePython:
    executable: str  # the interpreter's own path (sys.executable), not a shim
    implementation: str
    version: str  # e.g. 3.13.0
    found_by: str


_VERSION_PROBE = (
    "import platform, sys; print(platform.python_implementation(), platform.python_version(), sys.executable)"
)


def _probe_python(command: str, version: str, found_by: str) -> RuntimePython | str:
    """The interpreter `command` when it runs and is CPython `version`, else why not."""
    try:
        completed = subprocess.run(
            [command, "-c", _VERSION_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{command} ({found_by}): {error}"
    if completed.returncode != 0:
        why = (completed.stderr.strip().splitlines() or ["no message"])[0]
        return f"{command} ({found_by}): exit {completed.returncode}, {why}"
    implementation, reported, executable = completed.stdout.strip().split(" ", 2)
    if implementation != "CPython" or not (reported == version or reported.startswith(f"{version}.")):
        return f"{command} ({found_by}): is {implementation} {reported}, the function runs CPython {version}"
    return RuntimePython(executable, implementation, reported, found_by)


def find_runtime_python(version: str) -> RuntimePython | str:
    """An interpreter of the function's Python version on this machine, else why none was found.

    $BENCH_RUNTIME_PYTHON when set (and then only it), else pythonX.Y on the PATH, else pyenv's.
    """
    explicit = os.environ.get(RUNTIME_PYTHON_VARIABLE)
    if explicit:
        return _probe_python(explicit, version, f"from ${RUNTIME_PYTHON_VARIABLE}")
    candidates = [(f"python{version}", "on the PATH")]
    notes = []  # why a place held no candidate at all
    if shutil.which("pyenv"):
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
        if prefix.returncode == 0:
            # pyenv prints several prefixes joined with ':' when it resolves more than one version.
            candidates += [
                (str(Path(folder) / "bin" / f"python{version}"), f"by `pyenv prefix {version}`")
                for folder in prefix.stdout.strip().split(":")
                if folder
            ]
        else:
            why = (prefix.stderr.strip().splitlines() or ["no such version"])[0]
            notes.append(f"`pyenv prefix {version}`: {why}")
    else:
        notes.append("no pyenv on the PATH")
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    releases = pyenv_pythons(root / "versions", version)
    candidates += [(str(executable), f"in {root / 'versions'}") for executable in releases]
    if not releases:
        notes.append(f"{root / 'versions'}: no {version} release")
    places: dict[str, str] = {}
    for command, found_by in candidates:
        places.setdefault(command, found_by)  # each command once, found by its first place
    misses = []
    for command, found_by in places.items():
        found = _probe_python(command, version, found_by)
        if isinstance(found, RuntimePython):
            return found
        misses.append(found)
    return f"no CPython {version} on this machine (set {RUNTIME_PYTHON_VARIABLE} to one): " + "; ".join(
        misses + notes
    )


def runtime_venv(python: RuntimePython, powertools: str) -> Path | str:
    """A venv of the runtime's Python holding Powertools, under .bench/: made once, reused while it matches."""
    venv = BENCH_DIR / f"venv-python{'.'.join(python.version.split('.')[:2])}"
    stamp_path = venv / "bench-stamp.json"
    stamp = json.dumps(
        {"python": python.executable, "version": python.version, "aws-lambda-powertools": powertools},
        sort_keys=True,
    )
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and stamp_path.exists() and stamp_path.read_text() == stamp:
        return venv
    print(
        f"bench: creating {venv.relative_to(ROOT)} with aws-lambda-powertools=={powertools}", file=sys.stderr
    )
    shutil.rmtree(venv, ignore_errors=True)
    for step in (
        [python.executable, "-m", "venv", str(venv)],
        [
            str(venv_python),
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            f"aws-lambda-powertools=={powertools}",
        ],
    ):
        completed = subprocess.run(step, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if completed.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            why = (completed.stderr.strip().splitlines() or ["no message"])[-1]
            return f"`{' '.join(step[1:])}` with {python.executable} failed: {why}"
    stamp_path.write_text(stamp)
    return venv


def build_bundle(artifacts: Path, runtime_python: str) -> None:
    """The function's bundle as `sam build` makes it: src/Makefile's target, with RUNTIME_PYTHON set."""
    command = [
        "make",
        "-C",
        str(ROOT / "src"),
        BUILD_TARGET,
        f"ARTIFACTS_DIR={artifacts}",
        f"RUNTIME_PYTHON={runtime_python}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(command)}` failed:\n{completed.stdout}{completed.stderr}")


@dataclass(frozen=True)
class BundleSize:
    files: int
    bytecode_files: int
    bytes: int
    zipped_bytes: int  # deflated, as the deployment package is uploaded


def bundle_size(folder: Path) -> BundleSize:
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, path.relative_to(folder))
    return BundleSize(
        files=len(files),
        bytecode_files=sum(1 for path in files if path.suffix == ".pyc"),
        bytes=sum(path.stat().st_size for path in files),
        zipped_bytes=len(archive.getvalue()),
    )


def code_origins(verbose_stderr: str, folder: Path) -> Counter[str]:
    """How many modules under `folder` `python -v` says it ran from bytecode and from source."""
    origins: Counter[str] = Counter()
    for line in verbose_stderr.splitlines():
        # "# code object from '<...>.pyc'" (bytecode read) or "# code object from <...>.py" (compiled)
        match = re.fullmatch(r"# code object from '?(.+?)'?", line.strip())
        if match and Path(match.group(1)).is_relative_to(folder):
            origins["bytecode" if match.group(1).endswith(".pyc") else "source"] += 1
    return origins


@dataclass(frozen=True)
class RuntimeColdStart:
    python: RuntimePython
    venv: Path
    powertools: str
    bundles: dict[str, BundleSize]  # handler label -> its bundle
    cpu_ms: dict[str, list[float]]  # label -> CPU time of each run
    wall_ms: dict[str, list[float]]
    runs: int


def measure_runtime_cold_start(runs: int) -> RuntimeColdStart | str:
    """Import of the built bundle, source only and with bytecode, against Powertools, on the runtime's Python.

    Returns why not when this machine has no interpreter of that version or cannot make the venv.
    """
    version = runtime_version(SAM_TEMPLATE.read_text())
    python = find_runtime_python(version)
    if isinstance(python, str):
        return python
    powertools = pinned_version(REQUIREMENTS.read_text(), "aws-lambda-powertools")
    if powertools is None:
        return f"{REQUIREMENTS.name} pins no aws-lambda-powertools version"
    venv = runtime_venv(python, powertools)
    if isinstance(venv, str):
        return venv
    venv_python = str(venv / "bin" / "python")
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")
    }
    with tempfile.TemporaryDirectory() as folder:
        bundles = {
            RUNTIME_HANDLER_SOURCE: (Path(folder) / "source", "false", "source"),
            RUNTIME_HANDLER_BYTECODE: (Path(folder) / "bytecode", python.executable, "bytecode"),
        }
        envs = {}
        for label, (bundle, runtime_python, expected) in bundles.items():
            build_bundle(bundle, runtime_python)
            envs[label] = {**base, "PYTHONPATH": str(bundle), "PYTHONDONTWRITEBYTECODE": "1"}
            # Refuse to time a bundle that does not load as built (stale bytecode, the wrong package ...).
            verbose = subprocess.run(
                [venv_python, "-v", "-c", f"import {HANDLER_MODULE}"],
                capture_output=True,
                text=True,
                check=True,
                cwd=folder,
                env=envs[label],
            )
            origins = code_origins(verbose.stderr, bundle)
            if not origins[expected] or set(origins) != {expected}:
                raise SystemExit(f"bench: {label}: python -v shows its modules loaded as {dict(origins)}")
        envs[RUNTIME_POWERTOOLS] = envs[RUNTIME_HANDLER_SOURCE]
        subjects = {
            RUNTIME_POWERTOOLS: "aws_lambda_powertools",
            RUNTIME_HANDLER_SOURCE: HANDLER_MODULE,
            RUNTIME_HANDLER_BYTECODE: HANDLER_MODULE,
        }
        for label, modules in subjects.items():  # warm the file cache first
            _import_seconds(modules, envs[label], python=venv_python, cwd=folder)
        cpu: dict[str, list[float]] = {label: [] for label in subjects}
        wall: dict[str, list[float]] = {label: [] for label in subjects}
        labels = list(subjects)
        for number in range(runs):
            for label in labels[number % len(labels) :] + labels[: number % len(labels)]:
                wall_s, cpu_s = _import_seconds(subjects[label], envs[label], python=venv_python, cwd=folder)
                wall[label].append(wall_s * 1000)
                cpu[label].append(cpu_s * 1000)
        sizes = {label: bundle_size(bundle) for label, (bundle, _, _) in bundles.items()}
    if sizes[RUNTIME_HANDLER_SOURCE].bytecode_files:
        raise SystemExit("bench: bytecode was written into the source bundle during the runs")
    return RuntimeColdStart(
        python=python,
        venv=venv,
        powertools=powertools,
        bundles=sizes,
        cpu_ms=cpu,
        wall_ms=wall,
        runs=runs,
    )


# -- report ------------------------------------------------------------------------------------------


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- CPU: {model}, {os.cpu_count()} logical cores ({usable} usable by this process)",
        f"- Python: {platform.python_implementation()} {platform.python_version()} on {platform.platform()}",
        f"- Load average (1, 5, 15 min) at start: {load_average()}",
    ]


def measured_code() -> str:
    """Which code was measured: the commit, and whether the package's files differ from it."""
    package = HANDLER_SOURCE.parent

    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return completed.stdout.strip() if completed.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if not package.is_relative_to(ROOT):
        return f"- Code: package at {package} (not this checkout, whose HEAD is {commit})"
    dirty = git("status", "--porcelain", "--", str(package.relative_to(ROOT)))
    names = sorted(Path(line[3:]).name for line in dirty.splitlines())
    changes = f", with uncommitted changes to {', '.join(names)}" if names else ""
    return f"- Code: commit {commit} of {package.relative_to(ROOT)}{changes}"


def _yes(met: bool) -> str:
    return "yes" if met else "**NO**"


def home_as_tilde(text: str, home: str) -> str:
    """`text` with paths under the home folder written from ~ (the README says where, not whose)."""
    home = home.rstrip("/")
    return re.sub(rf"{re.escape(home)}(?![\w.-])", "~", text) if home else text


def runtime_section(runtime: RuntimeColdStart | str) -> list[str]:
    """Markdown of the cold start on the function's own Python, or of why it was skipped."""
    version = runtime_version(SAM_TEMPLATE.read_text())
    lines = ["## Cold start on the Lambda runtime's Python", ""]
    if isinstance(runtime, str):
        return [*lines, f"Skipped: {runtime}."]
    median = statistics.median
    python = runtime.python

    def home(text: str) -> str:
        return home_as_tilde(text, str(Path.home()))

    lines += [
        f"The function runs python{version} (template.yaml), on Lambda's read-only /var/task. The bundle "
        f"`sam build` ships (src/Makefile, `{BUILD_TARGET}`) is built twice: with `RUNTIME_PYTHON=false`, "
        f"source only, as from a build machine without python{version}; and with `RUNTIME_PYTHON` set to "
        f"the interpreter below, which adds bytecode (`compileall --invalidation-mode unchecked-hash`). "
        f"Each is imported by {python.implementation} {python.version} (`{home(python.executable)}`, found "
        f"{home(python.found_by)}) from a venv in {runtime.venv.relative_to(ROOT)}/ holding "
        f"aws-lambda-powertools {runtime.powertools} (requirements-dev.txt), with `PYTHONPATH=<bundle>` and "
        f"`PYTHONDONTWRITEBYTECODE=1`: {runtime.runs} fresh interpreters per row, rows run in rotation, CPU "
        "time of the `import` statement alone. `python -v` confirmed each bundle's modules load as built "
        "(from .pyc, or compiled from .py).",
        "",
        "| bundle | files | of them .pyc | bytes | zipped bytes |",
        "|---|---|---|---|---|",
    ]
    for label, size in runtime.bundles.items():
        lines.append(
            f"| {label.removeprefix('handler, ')} | {size.files} | {size.bytecode_files} | {size.bytes:,} "
            f"| {size.zipped_bytes:,} |"
        )
    lines += [
        "",
        "| import | what | CPU ms, median | CPU ms, range | wall ms, median |",
        "|---|---|---|---|---|",
    ]
    subjects = {
        RUNTIME_POWERTOOLS: "aws_lambda_powertools",
        RUNTIME_HANDLER_SOURCE: HANDLER_MODULE,
        RUNTIME_HANDLER_BYTECODE: HANDLER_MODULE,
    }
    for label, modules in subjects.items():
        cpu, wall = runtime.cpu_ms[label], runtime.wall_ms[label]
        lines.append(
            f"| `import {modules}` | {label} | {median(cpu):.1f} | {min(cpu):.1f} to {max(cpu):.1f} "
            f"| {median(wall):.1f} |"
        )
    lines += [
        "",
        "| handler minus Powertools | CPU ms | wall ms | target | met? (CPU) |",
        "|---|---|---|---|---|",
    ]
    for handler in (RUNTIME_HANDLER_SOURCE, RUNTIME_HANDLER_BYTECODE):
        by_cpu = median(runtime.cpu_ms[handler]) - median(runtime.cpu_ms[RUNTIME_POWERTOOLS])
        by_wall = median(runtime.wall_ms[handler]) - median(runtime.wall_ms[RUNTIME_POWERTOOLS])
        lines.append(
            f"| {handler} minus `import aws_lambda_powertools` | {by_cpu:.1f} | {by_wall:.1f} "
            f"| ≤ {IMPORT_BUDGET_MS:g} ms | {_yes(by_cpu <= IMPORT_BUDGET_MS)} |"
        )
    return lines


def report(
    timings: list[Timing],
    cold: ColdStart | None,
    memory: Memory | None,
    rounds: int,
    started: str,
    host: list[str],
    runtime: RuntimeColdStart | str | None = None,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {started} with `make bench` (scripts/bench.py). One run on a shared machine: rerun to see "
        "the spread.",
        "",
        *host,
        f"- Load average (1, 5, 15 min) at end: {load_average()}",
        measured_code(),
        "",
        "## Expansion against the JSON round trip",
        "",
        "`expand(fragment)` against `json.loads(json.dumps(fragment))` of the same fragment, per call, in "
        f"CPU time (`time.process_time`): median of {rounds} interleaved rounds (timeit, gc off during "
        "timing). Ratio = median of the per-round ratios; the range is the lowest and highest round.",
        "",
        "| size | resources (in → out) | bytes in | expand ms | json round trip ms | ratio | ratio range "
        "| target | met? |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        target = f"≤ {t.target:g}x" if t.target is not None else "none"
        met = _yes(t.ratio <= t.target) if t.target is not None else "n/a"
        lines.append(
            f"| {t.label} | {t.resources_in} → {t.resources_out} | {t.bytes_in:,} | {t.expand_s * 1e3:.3f} "
            f"| {t.json_s * 1e3:.3f} | {t.ratio:.3f}x | {t.ratio_low:.3f} to {t.ratio_high:.3f} "
            f"| {target} | {met} |"
        )
    if cold:
        median = statistics.median
        lines += [
            "",
            "## Cold start: import time in a fresh interpreter",
            "",
            "Time of the `import` statement alone (interpreter start-up excluded) in fresh interpreters of "
            f"the Python running the benchmark ({platform.python_version()}; the function's own Python is "
            f"the next section), {cold.runs} per row, rows run in rotation. CPU time (`time.process_time` in the child) is the "
            "measure: unlike wall time it does not grow when other processes compete for the cores. "
            "Powertools is always read from cached bytecode. The handler is measured twice: with its "
            "bytecode cached (an installed package) and compiled from source (a bundle of .py files on "
            "Lambda's read-only /var/task, where no .pyc can be written).",
            "",
            "| import | what | CPU ms, median | CPU ms, range | wall ms, median |",
            "|---|---|---|---|---|",
        ]
        for label, modules in cold.subjects.items():
            lines.append(
                f"| `import {modules}` | {label} | {median(cold.cpu_ms[label]):.1f} "
                f"| {min(cold.cpu_ms[label]):.1f} to {max(cold.cpu_ms[label]):.1f} "
                f"| {median(cold.wall_ms[label]):.1f} |"
            )
        lines += [
            "",
            "| handler minus Powertools | CPU ms | wall ms | target | met? (CPU) |",
            "|---|---|---|---|---|",
        ]
        for handler, baseline in (
            (HANDLER_CACHED, POWERTOOLS),
            (HANDLER_CACHED, POWERTOOLS_AS_HANDLER),
            (HANDLER_SOURCE_ONLY, POWERTOOLS),
        ):
            by_cpu = median(cold.cpu_ms[handler]) - median(cold.cpu_ms[baseline])
            by_wall = median(cold.wall_ms[handler]) - median(cold.wall_ms[baseline])
            lines.append(
                f"| {handler} minus `import {cold.subjects[baseline]}` | {by_cpu:.1f} | {by_wall:.1f} "
                f"| ≤ {IMPORT_BUDGET_MS:g} ms | {_yes(by_cpu <= IMPORT_BUDGET_MS)} |"
            )
        top = ", ".join(f"{name} {ms:.1f}" for name, ms in cold.extra_modules[:10])
        lines += [
            "",
            "Modules the handler imports beyond Powertools, own import ms (-X importtime, bytecode cached): "
            f"{top}.",
        ]
    if runtime is not None:
        lines += ["", *runtime_section(runtime)]
    if memory:
        limit = memory.memory_size_mb * MEMORY_SHARE
        rss = memory.rss_stages_mb["after dump"][1]
        stages = ", ".join(
            f"{stage} {current:.1f} / {peak:.1f}" for stage, (current, peak) in memory.rss_stages_mb.items()
        )
        lines += [
            "",
            "## Memory, ~1 MB template",
            "",
            f"Function MemorySize (template.yaml): {memory.memory_size_mb} MB; target: at most "
            f"{MEMORY_SHARE:.0%} of it ({limit:g} MB).",
            "",
            "| measure | MB | target | met? |",
            "|---|---|---|---|",
            f"| tracemalloc peak during expand() | {memory.traced_peak_mb:.2f} | ≤ {limit:g} "
            f"| {_yes(memory.traced_peak_mb <= limit)} |",
            "| tracemalloc peak during the JSON round trip (for scale) "
            f"| {memory.traced_json_mb:.2f} | — | — |",
            "| peak RSS (VmHWM) of a fresh process: import handler, load, expand, dump "
            f"| {rss:.1f} | ≤ {limit:g} "
            f"| {_yes(rss <= limit)} |",
            "",
            f"RSS of that process by stage (MB, current / peak so far): {stages}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds per size")
    parser.add_argument("--seconds", type=float, default=0.1, help="target seconds per timing")
    parser.add_argument("--import-runs", type=int, default=25, help="fresh interpreters per import subject")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the Markdown")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--skip-cold-start",
        action="store_true",
        help="skip both cold-start sections (this Python, runtime's)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    host = machine()

    cases = [(f"{size} resources", generate_template(size), size) for size in SIZES]
    large = generate_sized_template(MAX_TEMPLATE_BYTES, MAX_RESOURCES)
    cases.append((f"~1 MB ({compact_size(expand(large)) / 2**20:.2f} MiB out)", large, MAX_RESOURCES))
    timings = []
    for label, fragment, size in cases:
        check_expansion(fragment, size)
        snapshot = copy.deepcopy(fragment)
        timings.append(time_expansion(label, fragment, args.rounds, args.seconds))
        if fragment != snapshot:
            raise SystemExit("bench: expand() modified its input")
    cold = None
    runtime: RuntimeColdStart | str | None = None
    if not args.skip_cold_start:
        cold = measure_cold_start(args.import_runs)
        runtime = measure_runtime_cold_start(args.import_runs)
        if isinstance(runtime, str):
            print(f"bench: cold start on the Lambda runtime's Python skipped: {runtime}", file=sys.stderr)
    memory = measure_memory(large)
    text = report(timings, cold, memory, args.rounds, started, host, runtime)
    print(text, end="")
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"(written to {args.output})")
    missed = "**NO**" in text
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
