"""The function on a Lambda runtime: `sam local invoke` of the built bundle, as a user runs it.

`make local-invoke` (`python -m bench.sam_local`) invokes every event of events/ and checks each answer
against the in-process handler; tests/integration/test_local_invoke.py and the runtime benchmark use the
same pieces. Needs Docker and the base image public.ecr.aws/lambda/python:3.13-<arch>
(scripts/lambda_image.sh pulls it, or builds a local stand-in where it cannot be pulled).

The function is arm64 (template.yaml) and the local image is the host's architecture: for local runs a
variant of the *built* template with the host's architecture is derived each time (never a kept copy);
the bundle itself is pure Python, so the same files run on both.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"
BUILD_DIR = ROOT / ".aws-sam" / "build"
FUNCTION = "ProfileExpandFunction"
BIN = Path(sys.executable).parent
# Set to 1 where Docker must be there (CI): a missing daemon is then a failure, not a skip.
REQUIRED_VARIABLE = "PROFILE_EXPAND_REQUIRE_LOCAL_INVOKE"
# Lambda's Python runtime, exactly as `sam local invoke` names the base image it builds on.
BASE_IMAGE = "public.ecr.aws/lambda/python:3.13-{arch}"
# events/hook_*.json are the guard's (a CloudFormation hook), not macro events.
HOOK_EVENT_PREFIX = "hook_"


class LocalInvokeUnavailable(Exception):
    """Docker or the base image is missing: the local runs cannot happen on this machine."""


def host_architecture() -> str:
    """The Lambda architecture name of this machine (x86_64 or arm64)."""
    machine = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def docker_unavailable() -> str | None:
    """Why Docker cannot run containers here, or None when a daemon answers."""
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker daemon reachable ({last})"
    return None


def rie_binary() -> Path:
    """The runtime interface emulator SAM mounts into the container (shipped in aws-sam-cli's package)."""
    spec = importlib.util.find_spec("samcli")
    if spec is None or spec.origin is None:
        raise LocalInvokeUnavailable("aws-sam-cli is not installed in this Python")
    return Path(spec.origin).parent / "local" / "rapid" / f"aws-lambda-rie-{host_architecture()}"


def runtime_python() -> str | None:
    """A CPython of the function's version (3.13) on this machine, found as the build finds it."""
    done = subprocess.run(
        ["bash", str(ROOT / "src" / "find_runtime_python.sh"), "3.13"], capture_output=True, text=True
    )
    return done.stdout.strip() or None


def base_image() -> str:
    return BASE_IMAGE.format(arch=host_architecture())


def ensure_base_image() -> str:
    """Pull the real base image, or build the stand-in under its tag (scripts/lambda_image.sh)."""
    done = subprocess.run(["bash", "scripts/lambda_image.sh"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise LocalInvokeUnavailable(f"scripts/lambda_image.sh failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def sam_build(build_dir: Path = BUILD_DIR, template: Path = TEMPLATE) -> Path:
    """`sam build` as docs/deploying.md says; returns the built template."""
    subprocess.run(
        [str(BIN / "sam"), "build", "--template", str(template), "--build-dir", str(build_dir)],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        check=True,
        capture_output=True,
    )
    return build_dir / "template.yaml"


def read_template(path: Path) -> dict[str, Any]:
    """A SAM template (YAML with short-form tags, or JSON) as plain data."""
    from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

    decoded = cfn_yaml.loads(path.read_text(encoding="utf-8"), str(path))
    plain: dict[str, Any] = json.loads(json.dumps(decoded))
    return plain


def host_variant(
    built_template: Path,
    arch: str | None = None,
    function: str = FUNCTION,
    environment: dict[str, str] | None = None,
) -> Path:
    """Write, beside the built template, a copy whose function runs on `arch` (default: this host's).

    Only `Architectures` of the function changes (and, given `environment`, variables are added: sam
    local invoke passes only variables the template declares); the copy sits in the build folder so every
    CodeUri still resolves to the built bundle. Returns the copy's path.
    """
    arch = arch or host_architecture()
    template = read_template(built_template)
    properties = template["Resources"][function]["Properties"]
    if environment:
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(environment)
    declared = properties.get("Architectures", ["x86_64"])
    if len(declared) != 1:
        raise ValueError(f"{function} has Architectures {declared}; expected exactly one")
    properties["Architectures"] = [arch]
    variant = built_template.with_name(f"template-{arch}.json")
    variant.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    return variant


def function_properties(template_path: Path = TEMPLATE, function: str = FUNCTION) -> dict[str, Any]:
    properties: dict[str, Any] = read_template(template_path)["Resources"][function]["Properties"]
    return properties


class Report(NamedTuple):
    """SAM's REPORT line. The emulator fills Init Duration and Max Memory Used with placeholders."""

    line: str
    init_ms: float | None
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int


_REPORT = re.compile(
    r"REPORT RequestId: \S+\s+(?:Init Duration: (?P<init>[\d.]+) ms\s+)?Duration: (?P<duration>[\d.]+) ms"
    r".*?Memory Size: (?P<size>\d+) MB\s+Max Memory Used: (?P<used>\d+) MB"
)


def parse_report(text: str) -> Report:
    """The one REPORT line of an invocation's log; ValueError if there is none or several."""
    lines = [line for line in text.splitlines() if line.startswith("REPORT RequestId:")]
    if len(lines) != 1:
        raise ValueError(f"expected one REPORT line, found {len(lines)}")
    match = _REPORT.search(lines[0])
    if match is None:
        raise ValueError(f"unreadable REPORT line: {lines[0]!r}")
    return Report(
        line=lines[0].strip(),
        init_ms=float(match["init"]) if match["init"] else None,
        duration_ms=float(match["duration"]),
        memory_size_mb=int(match["size"]),
        max_memory_used_mb=int(match["used"]),
    )


# When SAM stops the container after the answer, awslambdaric's wait for the next event fails and says so.
_SHUTDOWN_NOISE = re.compile(
    r"^(\[ERROR\] \[\d+\] LAMBDA_RUNTIME Failed to get next invocation\..*"
    r"|Traceback \(most recent call last\):|\s+.*|RuntimeError: Failed to get next( invocation)?\.?|)$"
)
# Signs of a real failure anywhere in the log before the answer.
_FAILURE = re.compile(
    r"Traceback \(most recent call last\)|^\[ERROR\]|Runtime\.\w+Error|Task timed out", re.M
)


def log_problems(log: str) -> list[str]:
    """Lines of an invocation's log that show a real failure, ignoring the harmless shutdown message.

    Before the REPORT line any traceback or [ERROR] is a failure. After it only the runtime client's
    "Failed to get next invocation" (with its traceback) is expected; any other line there is reported.
    """
    head, report, tail = log.partition("\nREPORT RequestId:")
    problems = [line for line in head.splitlines() if _FAILURE.search(line)]
    if not report:
        problems.append("no REPORT line: the invocation did not finish")
    tail_lines = tail.splitlines()[1:]
    problems += [line for line in tail_lines if not _SHUTDOWN_NOISE.match(line)]
    return problems


class Invocation(NamedTuple):
    event: str
    response: Any
    report: Report
    problems: list[str]
    log: str


def invoke(
    template: Path,
    event: Path,
    function: str = FUNCTION,
    env: dict[str, str] | None = None,
) -> Invocation:
    """`sam local invoke FUNCTION -e EVENT` on a template whose base image is present locally."""
    done = subprocess.run(
        [
            str(BIN / "sam"),
            "local",
            "invoke",
            function,
            "--template",
            str(template),
            "--event",
            str(event),
            # The base image is the local one (pulled before, or the stand-in): never ask a registry.
            "--skip-pull-image",
        ],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    problems = log_problems(done.stderr)
    if done.returncode != 0:
        problems.insert(0, f"sam local invoke exited {done.returncode}")
    try:
        response = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    except json.JSONDecodeError:
        response = None
        problems.append(f"the answer is not JSON: {done.stdout[:200]!r}")
    try:
        report = parse_report(done.stderr)
    except ValueError as error:
        problems.append(str(error))
        report = Report("", None, 0.0, 0, 0)
    return Invocation(event.name, response, report, problems, done.stderr)


class _Context:
    """The handler reads these attributes of the Lambda context (through Powertools)."""

    function_name = FUNCTION
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
    aws_request_id = "in-process"


def in_process_response(event: Any) -> Any:
    """What the handler answers for this event when called in this process."""
    from profile_expand.macro.handler import lambda_handler

    return lambda_handler(event, _Context())


def macro_events() -> list[Path]:
    """The macro's events: every events/*.json but the guard's hook events (hook_*.json, bench/guard_local.py)."""
    return sorted(path for path in EVENTS.glob("*.json") if not path.name.startswith(HOOK_EVENT_PREFIX))


def expects_failure(event_name: str) -> bool:
    """Events named failure_* or malformed_* are examples the macro must reject."""
    return event_name.startswith(("failure_", "malformed_"))


def mismatches(invocation: Invocation, event: Any) -> list[str]:
    """How the local answer differs from the in-process handler's (and from what the event is for)."""
    expected = in_process_response(event)
    found: list[str] = list(invocation.problems)
    response = invocation.response
    if not isinstance(response, dict):
        return [*found, f"no macro response: {response!r}"]
    want = "failure" if expects_failure(invocation.event) else "success"
    if response.get("status") != want:
        found.append(
            f"status {response.get('status')!r}, expected {want!r}: {response.get('errorMessage')!r}"
        )
    if want == "failure" and not response.get("errorMessage"):
        found.append("a failure without an errorMessage")
    for key in ("requestId", "status", "errorMessage", "fragment"):
        if response.get(key) != expected.get(key):
            found.append(f"{key} differs from the in-process handler's")
    if set(response) != set(expected):
        found.append(f"keys {sorted(response)} differ from the in-process handler's {sorted(expected)}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="*", type=Path, help="event files (default: every events/*.json)")
    parser.add_argument("--no-build", action="store_true", help="use the existing .aws-sam/build")
    args = parser.parse_args(argv)
    events = args.events or macro_events()
    # The in-process reference run stays quiet: the local runs' logs are what this command is about.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    why = docker_unavailable()
    if why:
        print(f"local-invoke: cannot run: {why}", file=sys.stderr)
        return 2
    print(f"local-invoke: {ensure_base_image()}")
    built = BUILD_DIR / "template.yaml" if args.no_build else sam_build()
    variant = host_variant(built)
    print(
        f"local-invoke: {variant.relative_to(ROOT)} (the built template, Architectures [{host_architecture()}])"
    )
    failed = 0
    for path in events:
        event = json.loads(path.read_text(encoding="utf-8"))
        invocation = invoke(variant, path)
        problems = mismatches(invocation, event)
        verdict = "ok" if not problems else "MISMATCH"
        status = invocation.response.get("status") if isinstance(invocation.response, dict) else None
        print(f"{path.name}: {verdict} ({status}) | {invocation.report.line or 'no REPORT line'}")
        for problem in problems:
            print(f"    {problem}")
        failed += bool(problems)
    print(f"local-invoke: {len(events) - failed} of {len(events)} events answered as the in-process handler")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
