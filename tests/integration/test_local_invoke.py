"""`sam local invoke` of the built function on a Lambda runtime image: every event of events/ answers as the
in-process handler does (bench/sam_local.py, also `make local-invoke`).

Needs a Docker daemon. Without one these tests are skipped, saying why; with
PROFILE_EXPAND_REQUIRE_LOCAL_INVOKE=1 (CI) a missing daemon or image is a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from bench import sam_local

pytestmark = pytest.mark.integration

EVENTS = sam_local.macro_events()


def _unavailable(why: str) -> None:
    if os.environ.get(sam_local.REQUIRED_VARIABLE) == "1":
        pytest.fail(
            f"sam local invoke is required here ({sam_local.REQUIRED_VARIABLE}=1) but cannot run: {why}"
        )
    pytest.skip(
        f"sam local invoke tests skipped: {why} (start a Docker daemon to run them; "
        f"{sam_local.REQUIRED_VARIABLE}=1 makes this a failure)"
    )


@pytest.fixture(scope="module")
def local_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built template with the host's architecture, its base image present."""
    why = sam_local.docker_unavailable()
    if why:
        _unavailable(why)
    try:
        sam_local.ensure_base_image()
    except sam_local.LocalInvokeUnavailable as error:
        _unavailable(str(error))
    built = sam_local.sam_build(tmp_path_factory.mktemp("sam") / "build")
    return sam_local.host_variant(built)


def test_events_cover_every_site_failures_and_the_limits() -> None:
    names = {path.name for path in EVENTS}
    assert {"failure_typo_role.json", "malformed_no_fragment.json", "large_500_resources.json"} <= names
    large = json.loads((sam_local.EVENTS / "large_500_resources.json").read_text())
    assert 900_000 < len(json.dumps(large["fragment"], separators=(",", ":"))) <= 1_048_576


@pytest.mark.parametrize("event", EVENTS, ids=[path.name for path in EVENTS])
def test_local_invoke_answers_as_the_in_process_handler(local_template: Path, event: Path) -> None:
    invocation = sam_local.invoke(local_template, event)

    assert sam_local.mismatches(invocation, json.loads(event.read_text())) == [], invocation.log[-3000:]
    assert invocation.report.memory_size_mb == sam_local.function_properties()["MemorySize"]
    print(f"{event.name}: {invocation.report.line}")


def test_a_handler_that_cannot_load_is_a_failure_not_shutdown_noise(local_template: Path) -> None:
    # The same bundle with a handler name that does not exist: the runtime reports the error in the log
    # and the answer; the shutdown message that follows every invocation must not hide it.
    template = json.loads(local_template.read_text())
    template["Resources"][sam_local.FUNCTION]["Properties"]["Handler"] = (
        "profile_expand.macro.handler.no_such_handler"
    )
    broken = local_template.with_name("template-broken.json")
    broken.write_text(json.dumps(template))
    event = sam_local.EVENTS / "ec2_instance.json"

    invocation = sam_local.invoke(broken, event)

    found = sam_local.mismatches(invocation, json.loads(event.read_text()))
    assert found, invocation.log
    assert any("no macro response" in line or "status" in line for line in found), found


def test_host_variant_changes_only_the_architecture(tmp_path: Path) -> None:
    shutil.copy(sam_local.TEMPLATE, tmp_path / "template.yaml")
    original = sam_local.read_template(tmp_path / "template.yaml")

    variant = sam_local.read_template(sam_local.host_variant(tmp_path / "template.yaml", "x86_64"))

    assert original["Resources"][sam_local.FUNCTION]["Properties"]["Architectures"] == ["arm64"]
    assert variant["Resources"][sam_local.FUNCTION]["Properties"].pop("Architectures") == ["x86_64"]
    original["Resources"][sam_local.FUNCTION]["Properties"].pop("Architectures")
    assert variant == original


SHUTDOWN = "[ERROR] [1795851467675] LAMBDA_RUNTIME Failed to get next invocation. No Response from endpoint"
REPORT = (
    "REPORT RequestId: e35d8af5\tInit Duration: 0.03 ms\tDuration: 87.59 ms\tBilled Duration: 88 ms\t"
    "Memory Size: 256 MB\tMax Memory Used: 256 MB\t"
)


def test_the_shutdown_message_after_the_report_is_not_a_problem() -> None:
    log = f"START RequestId: e35d8af5\n{{}}\nEND RequestId: e35d8af5\n{REPORT}\n\n{SHUTDOWN}\n"
    traceback = (
        f"{REPORT}\n{SHUTDOWN}\nTraceback (most recent call last):\n"
        '  File "/var/runtime/awslambdaric/lambda_runtime_client.py", line 159, in wait_next_invocation\n'
        "    response_body, headers = runtime_client.next()\n"
        "                             ~~~~~~~~~~~~~~~~~~~^^\n"
        "RuntimeError: Failed to get next\n"
    )

    assert sam_local.log_problems(log) == []
    assert sam_local.log_problems("START\n" + traceback) == []
    assert sam_local.parse_report(log).duration_ms == 87.59


def test_errors_before_the_report_and_unknown_lines_after_it_are_problems() -> None:
    before = (
        "START RequestId: 1\n[ERROR] Runtime.ImportModuleError: Unable to import module 'x'\n"
        f"END RequestId: 1\n{REPORT}\n{SHUTDOWN}\n"
    )
    after = f"START RequestId: 1\n{REPORT}\n{SHUTDOWN}\nSegmentation fault (core dumped)\n"

    assert sam_local.log_problems(before) == [
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'x'"
    ]
    assert sam_local.log_problems(after) == ["Segmentation fault (core dumped)"]
    assert sam_local.log_problems("START RequestId: 1\n") == ["no REPORT line: the invocation did not finish"]
