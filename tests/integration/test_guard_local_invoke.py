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
