"""Cold start and memory on a Lambda runtime: the built bundle in the local Lambda image, under the runtime
interface emulator that SAM ships, in fresh containers started here (as `sam local invoke` starts them).

The emulator's REPORT line is read for Duration. Its other figures are placeholders, not measurements
(seen here: "Init Duration: 0.03 ms" whatever the import costs, "Max Memory Used" equal to MemorySize), and
the emulator starts the runtime at the first invocation, so that invocation's Duration holds the init.
At `--log-level info` the emulator also logs "INIT REPORT(durationMs: ...)": the init phase from the
runtime's start until it asks for the first event (awslambdaric imports the handler first), which is what
Lambda reports as Init Duration; that is the init here, in wall-clock time. Beside it the runtime
process's CPU time for the same (from /proc/<pid>/schedstat in the container), which other load on a
shared machine does not inflate; the target is judged on it. Memory = peak RSS (VmHWM) of the container's
processes, read from /proc inside it.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from bench import sam_local
from bench.coldstart import powertools_imports
from bench.settings import HANDLER_SOURCE

# The baseline: a handler that imports exactly the Powertools modules the macro's handler imports.
BASELINE_MODULE = "powertools_only"
SMALL_EVENT = sam_local.EVENTS / "ec2_instance.json"
LARGE_EVENT = sam_local.EVENTS / "large_500_resources.json"
_INVOKE_URL = "http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
# Peak RSS of each process in the container, and which process it is ("VmHWM: <kB> kB|<command line>").
_PEAKS = (
    'for p in /proc/[0-9]*; do [ -r "$p/status" ] || continue; '
    'echo "$(grep VmHWM "$p/status")|$(tr "\\0" " " < "$p/cmdline")"; done'
)
# CPU time (ns on the CPU, the first field of schedstat) of the runtime process: the one whose program
# is a python (not the `sh` running this, whose own command line would match a plain "awslambdaric").
_RUNTIME_CPU = (
    'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline" 2>/dev/null | grep -q "^[^ ]*python[0-9.]* " '
    '&& cut -d" " -f1 "$p/schedstat"; done; true'
)
# The container's own processes: the emulator and the runtime it started (not the `sh` reading /proc).
_CONTAINER_PROCESSES = ("aws-lambda-rie", "awslambdaric")


def baseline_source(handler_source: str) -> str:
    modules = powertools_imports(handler_source)
    return (
        '"""Benchmark baseline: imports the Powertools modules of profile_expand.macro.handler, does nothing."""\n'
        f"import {', '.join(modules)}  # noqa: F401\n\n\n"
        "def lambda_handler(event, context):\n    return {}\n"
    )


class Container(NamedTuple):
    handler: str
    durations_ms: list[float]  # one per invocation, in order (the first includes the init)
    init_ms: float  # the emulator's INIT REPORT durationMs (wall clock)
    init_cpu_ms: float  # the runtime process's CPU time for the same (see run_container)
    runtime_peak_mb: float  # VmHWM of the Python runtime process
    container_peak_mb: float  # sum of every process's VmHWM: an upper bound of the container's peak
    responses: list[Any]


def _docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"docker {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _post(port: int, body: bytes, deadline: float) -> Any:
    while True:
        request = urllib.request.Request(_INVOKE_URL.format(port=port), data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError:
            raise
        except (ConnectionError, urllib.error.URLError) as error:
            # Until the emulator listens, the published port refuses or resets the connection.
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not answer: {error}") from error
            time.sleep(0.05)


def _peaks(container: str) -> tuple[float, float]:
    runtime_kb, total_kb = 0, 0
    for line in _docker("exec", container, "sh", "-c", _PEAKS).splitlines():
        status, _, command = line.partition("|")
        if not status.startswith("VmHWM:") or not any(name in command for name in _CONTAINER_PROCESSES):
            continue
        kb = int(status.split()[1])
        total_kb += kb
        if "awslambdaric" in command:
            runtime_kb = max(runtime_kb, kb)
    if not runtime_kb:
        raise RuntimeError("no awslambdaric process in the container to read the peak memory of")
    return runtime_kb / 1024, total_kb / 1024


def _runtime_cpu_ms(container: str) -> float:
    found = _docker("exec", container, "sh", "-c", _RUNTIME_CPU).split()
    if len(found) != 1:
        raise RuntimeError(f"expected one Python runtime process in the container, found {len(found)}")
    return int(found[0]) / 1e6


def run_container(
    image: str,
    bundle: Path,
    handler: str,
    events: list[Path],
    environment: dict[str, str],
    memory_mb: int,
) -> Container:
    """Start a fresh container of the bundle, invoke `events` in order, read REPORT lines and peak RSS."""
    name = f"profile-expand-bench-{uuid.uuid4().hex[:12]}"
    rie = sam_local.rie_binary()
    env_args = [arg for key, value in environment.items() for arg in ("--env", f"{key}={value}")]
    _docker(
        "run",
        "--detach",
        "--name",
        name,
        "--publish",
        "127.0.0.1::8080",
        f"--memory={memory_mb}m",
        "--volume",
        f"{bundle}:/var/task:ro",
        "--volume",
        f"{rie}:/var/rapid/aws-lambda-rie:ro",
        "--entrypoint",
        "/var/rapid/aws-lambda-rie",
        *env_args,
        "--env",
        f"AWS_LAMBDA_FUNCTION_HANDLER={handler}",
        image,
        # As SAM starts it (which passes `--log-level error`): the emulator runs /var/runtime/bootstrap with the
        # handler from the environment. At info it also logs its INIT REPORT.
        "--log-level",
        "info",
    )
    try:
        port = int(_docker("port", name, "8080/tcp").strip().splitlines()[0].rsplit(":", 1)[1])
        responses, cpu_ms = [], []
        for path in events:
            responses.append(_post(port, path.read_bytes(), time.monotonic() + 60))
            cpu_ms.append(_runtime_cpu_ms(name))
        runtime_peak, container_peak = _peaks(name)
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True)
        reports = [
            sam_local.parse_report(line)
            for line in (logs.stdout + logs.stderr).splitlines()
            if line.startswith("REPORT RequestId:")
        ]
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True)
    if len(reports) != len(events):
        raise RuntimeError(f"{len(reports)} REPORT lines for {len(events)} invocations of {handler}")
    init = init_report_ms(logs.stdout + logs.stderr)
    # The runtime's CPU time through its first invocation, less what the second (same event) cost: its
    # start, awslambdaric, the handler's import and first-call costs, robust to other load on the machine.
    init_cpu = cpu_ms[0] - (cpu_ms[1] - cpu_ms[0])
    return Container(
        handler, [r.duration_ms for r in reports], init, init_cpu, runtime_peak, container_peak, responses
    )


_INIT_REPORT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: ([\d.]+)\)")


def init_report_ms(log: str) -> float:
    """The init phase's duration from the emulator's one INIT REPORT line (log level info)."""
    found = [float(match.group(1)) for match in _INIT_REPORT.finditer(log)]
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} INIT REPORT lines in the container's log; expected one")
    return found[0]


class RuntimeRun(NamedTuple):
    image: str
    image_label: str
    memory_size_mb: int
    macro: list[Container]  # small event twice, fresh container each
    baseline: list[Container]  # the same for the Powertools-only handler
    large: list[Container]  # the ~1 MB event twice, fresh container each
    large_event_bytes: int
    large_resources: int


def init_ms(container: Container) -> float:
    """The init phase's duration (the emulator's INIT REPORT)."""
    return container.init_ms


def init_cpu_ms(container: Container) -> float:
    return container.init_cpu_ms


def first_invocation_extra_ms(container: Container) -> float:
    """How much longer the first invocation took than the second (same event): init plus first-call costs."""
    return container.durations_ms[0] - container.durations_ms[1]


def measure(runs: int) -> RuntimeRun | str:
    """The runtime figures, or why they cannot be measured on this machine."""
    why = sam_local.docker_unavailable()
    if why:
        return why
    sam_local.ensure_base_image()
    image = tag = sam_local.base_image()
    label = _docker(
        "image", "inspect", "-f", '{{index .Config.Labels "profile-expand.stand-in"}}', tag
    ).strip()
    properties = sam_local.function_properties()
    memory_mb = int(properties["MemorySize"])
    environment = {
        **{k: str(v) for k, v in properties.get("Environment", {}).get("Variables", {}).items()},
        "AWS_LAMBDA_FUNCTION_NAME": sam_local.FUNCTION,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(properties.get("Timeout", 3)),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    handler = properties["Handler"]
    with tempfile.TemporaryDirectory() as folder:
        built = sam_local.sam_build(Path(folder) / "build")
        bundle = built.parent / sam_local.FUNCTION
        baseline = Path(folder) / "baseline"
        shutil.copytree(bundle, baseline)
        (baseline / f"{BASELINE_MODULE}.py").write_text(baseline_source(HANDLER_SOURCE.read_text()))
        python = sam_local.runtime_python()
        if python:  # bytecode like the rest of the bundle, so both sides load alike
            subprocess.run(
                [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(baseline)],
                check=True,
            )
        macro_runs: list[Container] = []
        baseline_runs: list[Container] = []
        large_runs: list[Container] = []
        for number in range(runs):
            # Alternate which one starts first, so neither always follows the other.
            order = [("macro", bundle, handler), ("baseline", baseline, f"{BASELINE_MODULE}.lambda_handler")]
            for kind, where, entry in order if number % 2 == 0 else order[::-1]:
                done = run_container(
                    image,
                    where,
                    entry,
                    [SMALL_EVENT, SMALL_EVENT],
                    environment,
                    memory_mb,
                )
                (macro_runs if kind == "macro" else baseline_runs).append(done)
        for _ in range(max(3, runs // 2)):
            large_runs.append(
                run_container(image, bundle, handler, [LARGE_EVENT, LARGE_EVENT], environment, memory_mb)
            )
    for container in macro_runs + large_runs:
        statuses = {response.get("status") for response in container.responses}
        if statuses != {"success"}:
            raise RuntimeError(f"the macro answered {statuses} on the runtime; expected success")
    large_event = json.loads(LARGE_EVENT.read_text())
    return RuntimeRun(
        image=tag,
        image_label=label or "the real image",
        memory_size_mb=memory_mb,
        macro=macro_runs,
        baseline=baseline_runs,
        large=large_runs,
        large_event_bytes=LARGE_EVENT.stat().st_size,
        large_resources=len(large_event["fragment"]["Resources"]),
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
