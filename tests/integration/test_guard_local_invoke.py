"""`sam local invoke` of the built guard (guard.yaml) with every events/hook_*.json, its IAM a moto server
on this machine (bench/guard_local.py, also `make local-invoke`): each answer is the expected verdict and
equals the in-process core's on the same IAM.

Needs a Docker daemon; skipped without one, saying why, and a failure with PROFILE_EXPAND_REQUIRE_LOCAL_INVOKE=1
(CI). moto never invokes hooks: CloudFormation's side is the fixture events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench import guard_local, sam_local

pytestmark = pytest.mark.integration

EVENTS = guard_local.hook_events()


@pytest.fixture(scope="module")
def local_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    why = sam_local.docker_unavailable()
    if why is None:
        try:
            sam_local.ensure_base_image()
        except sam_local.LocalInvokeUnavailable as error:
            why = str(error)
    if why:
        if os.environ.get(sam_local.REQUIRED_VARIABLE) == "1":
            pytest.fail(
                f"sam local invoke is required here ({sam_local.REQUIRED_VARIABLE}=1) but cannot run: {why}"
            )
        pytest.skip(f"guard local invoke skipped: {why}")
    built = guard_local.build_local(tmp_path_factory.mktemp("guard") / "build")
    with guard_local.iam_server(guard_local.bridge_address()) as server:
        yield guard_local.local_variant(built, server.endpoint), server.client


@pytest.mark.parametrize("event", EVENTS, ids=[path.name for path in EVENTS])
def test_the_built_guard_answers_each_hook_event_as_expected(
    local_guard: tuple[Path, Any], event: Path
) -> None:
    template, client = local_guard
    invocation = guard_local.invoke(template, event)

    assert guard_local.mismatches(invocation, json.loads(event.read_text()), client) == [], invocation.log[
        -3000:
    ]
    assert "app-role" not in invocation.log  # never a property value in the log
    print(f"{event.name}: {invocation.report.line}")


_PARSE = (
    "import platform, yaml; from profile_expand.core.template_text import load_template, safe_loader; "
    "print(platform.machine(), yaml.__with_libyaml__, safe_loader().__name__, load_template('A: !Ref B'))"
)


def test_the_built_guard_carries_arm64_libyaml_and_parses_yaml_without_it_here(
    local_guard: tuple[Path, Any],
) -> None:
    import subprocess

    from tests.unit.test_guard_yaml import check_extensions

    template, _ = local_guard
    bundle = template.parent / guard_local.GUARD_FUNCTION
    (extension,) = sorted(bundle.glob("yaml/_yaml*.so"))
    assert check_extensions.elf_machine(extension) == check_extensions.EM_AARCH64
    if sam_local.host_architecture() == "arm64":
        pytest.skip("on an arm64 host the extension loads: nothing falls back")
    done = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{bundle}:/var/task:ro",
            "-w",
            "/var/task",
            "--entrypoint",
            "python3",
            sam_local.base_image(),
            "-c",
            _PARSE,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # The x86_64 image cannot load the arm64 extension: PyYAML's pure parser reads the same template.
    assert done.stdout.split()[:3] == ["x86_64", "False", "SafeLoader"]
    assert "{'A': {'Ref': 'B'}}" in done.stdout
