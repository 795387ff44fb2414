"""The guard on a Lambda runtime (bench/runtime.py's containers and emulator): its init against a handler
that only imports Powertools and creates the same boto3 IAM client, and the warm duration of one resource
event with 40 sites, each a distinct name IAM is asked about (a moto server on this machine).

Rows of `make bench`; `python -m bench.guard_runtime` prints them alone.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from bench import guard_local, sam_local
from bench.runtime import Container, run_container
from bench.targets import Target

BASELINE_MODULE = "guard_baseline"
# The same imports and client as profile_expand/guard/handler.py at init, nothing else.
BASELINE_SOURCE = '''"""Benchmark baseline: Powertools and the guard's boto3 IAM client, created as the guard creates it."""
import boto3
from aws_lambda_powertools import Logger, Metrics  # noqa: F401
from aws_lambda_powertools.metrics import MetricUnit  # noqa: F401
from botocore.config import Config

_IAM = boto3.client(
    "iam",
    config=Config(connect_timeout=1.0, read_timeout=5.0, retries={"total_max_attempts": 1, "mode": "standard"}),
)


def lambda_handler(event, context):
    return {}
'''
INIT_EVENT = sam_local.EVENTS / "hook_delete.json"  # judged without IAM: the init is all it costs
SITES = 40
INIT_BUDGET_MS = 15.0


class GuardRun(NamedTuple):
    guard: list[Container]
    baseline: list[Container]
    warm: list[Container]
    iam_calls: int
    status: str


def forty_site_event() -> dict[str, object]:
    """An EC2 Fleet whose 40 overrides each name a different role without a profile: 80 IAM calls."""
    event: dict[str, object] = json.loads((sam_local.EVENTS / "hook_ec2_instance_role_name.json").read_text())
    overrides = [
        {"InstanceType": "t3.micro", "IamInstanceProfile": {"Name": f"bench-role-{n}"}} for n in range(SITES)
    ]
    event["requestData"] = {
        "targetName": "AWS::EC2::EC2Fleet",
        "targetType": "AWS::EC2::EC2Fleet",
        "targetLogicalId": "Fleet",
        "targetModel": {"resourceProperties": {"LaunchTemplateConfigs": [{"Overrides": overrides}]}},
    }
    return event


def measure(runs: int) -> GuardRun | str:
    """The guard's rows, or why they cannot be measured here."""
    why = sam_local.docker_unavailable()
    if why:
        return why
    sam_local.ensure_base_image()
    image = sam_local.base_image()
    properties = sam_local.function_properties(guard_local.GUARD_TEMPLATE, guard_local.GUARD_FUNCTION)
    memory_mb = int(properties["MemorySize"])
    with (
        tempfile.TemporaryDirectory() as folder,
        guard_local.iam_server(guard_local.bridge_address()) as server,
    ):
        for n in range(SITES):
            server.client.create_role(
                RoleName=f"bench-role-{n}", AssumeRolePolicyDocument=json.dumps(guard_local._EC2_TRUST)
            )
        environment = {
            **{k: str(v) for k, v in properties.get("Environment", {}).get("Variables", {}).items()},
            **guard_local.FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL_IAM": server.endpoint,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": guard_local.GUARD_FUNCTION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(properties.get("Timeout", 3)),
        }
        built = guard_local.build_local(Path(folder) / "build")
        bundle = built.parent / guard_local.GUARD_FUNCTION
        baseline = Path(folder) / "baseline"
        shutil.copytree(bundle, baseline)
        (baseline / f"{BASELINE_MODULE}.py").write_text(BASELINE_SOURCE)
        python = sam_local.runtime_python()
        if python:  # bytecode like the rest of the bundle, so both sides load alike
            subprocess.run(
                [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(baseline)],
                check=True,
            )
        event = Path(folder) / "hook_40_sites.json"
        event.write_text(json.dumps(forty_site_event()))
        guard_runs: list[Container] = []
        baseline_runs: list[Container] = []
        handler = str(properties["Handler"])
        for number in range(runs):
            order = [("guard", bundle, handler), ("baseline", baseline, f"{BASELINE_MODULE}.lambda_handler")]
            for kind, where, entry in order if number % 2 == 0 else order[::-1]:
                done = run_container(image, where, entry, [INIT_EVENT, INIT_EVENT], environment, memory_mb)
                (guard_runs if kind == "guard" else baseline_runs).append(done)
        warm = [
            run_container(image, bundle, handler, [event] * 4, environment, memory_mb)
            for _ in range(max(2, runs // 3))
        ]
    responses = [response for container in warm for response in container.responses]
    statuses = {response.get("hookStatus") for response in responses}
    if statuses != {"FAILED"} or {response.get("errorCode") for response in responses} != {"NonCompliant"}:
        raise RuntimeError(
            f"the guard answered {statuses} to the 40-site event; expected FAILED/NonCompliant"
        )
    return GuardRun(guard_runs, baseline_runs, warm, 2 * SITES, "FAILED/NonCompliant")


def _median(values: list[float]) -> float:
    return statistics.median(values)


def init_extra_cpu_ms(run: GuardRun) -> float:
    return _median([c.init_cpu_ms for c in run.guard]) - _median([c.init_cpu_ms for c in run.baseline])


def warm_ms(run: GuardRun) -> float:
    """Median Duration of the warm invocations (each container's second to last) of the 40-site event."""
    return _median([d for container in run.warm for d in container.durations_ms[1:]])


def targets(run: GuardRun | None) -> list[Target]:
    if run is None:
        return []
    return [
        Target(
            "guard init beyond Powertools + boto3 client (Lambda runtime, CPU)",
            init_extra_cpu_ms(run),
            INIT_BUDGET_MS,
            "ms",
        )
    ]


def section(run: GuardRun | str | None) -> str:
    """The guard's rows of the results, in Markdown."""
    lines = ["", "## The guard (CloudFormation Lambda hook) on the Lambda runtime", ""]
    if run is None:
        return "\n".join([*lines, "Not measured (--skip-lambda-runtime).", ""])
    if isinstance(run, str):
        return "\n".join([*lines, f"Not measured here: {run}.", ""])
    guard_init = _median([c.init_cpu_ms for c in run.guard])
    base_init = _median([c.init_cpu_ms for c in run.baseline])
    lines += [
        "The built guard (`sam build -t guard.yaml`, bundled boto3 and bytecode) in fresh containers of the "
        "Lambda image under SAM's runtime interface emulator, as for the macro. Init = the runtime process's "
        "CPU time through the first invocation of a delete event (no IAM call), less the second's; the "
        "baseline imports Powertools' Logger and Metrics and creates the same boto3 IAM client, nothing "
        f"else. Medians of {len(run.guard)} containers each, alternating which starts first.",
        "",
        "| measure | guard | baseline | difference | target |",
        "|---|---|---|---|---|",
        f"| init, CPU ms | {guard_init:.1f} | {base_init:.1f} | {guard_init - base_init:+.1f} | "
        f"at most +{INIT_BUDGET_MS:.0f} ms |",
        f"| init (emulator's INIT REPORT), wall ms | {_median([c.init_ms for c in run.guard]):.1f} | "
        f"{_median([c.init_ms for c in run.baseline]):.1f} | | |",
        "",
        f"Warm duration of a resource event with {SITES} sites, each a distinct role name without a profile "
        f"({run.iam_calls} IAM calls to a moto server on this machine; answer {run.status}): "
        f"**{warm_ms(run):.0f} ms** median over {sum(len(c.durations_ms) - 1 for c in run.warm)} warm "
        f"invocations in {len(run.warm)} containers (the hook allows 30 000 ms).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    run = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(section(run))
    return 0 if not isinstance(run, str) else 2


if __name__ == "__main__":
    sys.exit(main())
