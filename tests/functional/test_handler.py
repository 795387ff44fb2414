"""The Lambda handler with real macro events: the response contract, logs, metrics, and never raising."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench import sam_local

from profile_expand.core.sites import EACH, SITES, Site, SiteKind
from profile_expand.macro import handler
from tests.support import FakeLambdaContext, fake_context_source

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RESPONSE_KEYS = {"requestId", "status", "fragment", "errorMessage"}
SITE_BY_SLUG = {site.slug: site for site in SITES}


@dataclass
class Captured:
    logs: list[dict[str, Any]]
    log_text: str
    stdout: str

    def metrics(self) -> dict[str, list[float]]:
        """The EMF metric values printed by Powertools, by metric name."""
        values: dict[str, list[float]] = {}
        for line in self.stdout.splitlines():
            record = json.loads(line)
            for directive in record["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == "ProfileExpand"
                for metric in directive["Metrics"]:
                    values.setdefault(metric["Name"], []).extend(record[metric["Name"]])
        return values


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Call the handler; return (response, Captured). Powertools' log handler writes to a buffer here."""
    buffer = io.StringIO()
    previous = handler.logger.logger_handler.setStream(buffer)

    def call(event: Any) -> tuple[dict[str, Any], Captured]:
        buffer.seek(0)
        buffer.truncate()
        capsys.readouterr()
        response = handler.lambda_handler(event, FakeLambdaContext())
        text = buffer.getvalue()
        logs = [json.loads(line) for line in text.splitlines()]
        return response, Captured(logs, text, capsys.readouterr().out)

    yield call
    handler.logger.logger_handler.setStream(previous)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def containers(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """The mappings a site's container path reaches (EACH steps into every list item)."""
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == EACH:
        for item in value if isinstance(value, list) else []:
            yield from containers(item, rest)
    elif isinstance(value, dict) and head in value:
        yield from containers(value[head], rest)


def assert_site_expanded(site: Site, fragment: dict[str, Any]) -> None:
    resources = fragment["Resources"]
    users = [r for r in resources.values() if r["Type"] == site.resource_type]
    assert users, f"no {site.resource_type} in the expanded fragment"
    reached = [c for r in users for c in containers(r, site.container)]
    assert reached, f"{site.property_path} not found"
    for container in reached:
        if site.kind is SiteKind.OPTION_SETTING:
            names = {s["OptionName"] for s in container if s.get("Namespace") == site.option_namespace}
            assert "IamRole" not in names
            assert site.profile_property in names
        else:
            assert "IamRole" not in container
            assert site.profile_property in container
    assert any(r["Type"] == "AWS::IAM::InstanceProfile" for r in resources.values())


# -- every committed event -------------------------------------------------------------------------------


def test_every_site_has_an_event() -> None:
    assert {f"{slug}.json" for slug in SITE_BY_SLUG} <= {p.name for p in sam_local.macro_events()}


@pytest.mark.parametrize("name", [p.name for p in sam_local.macro_events()])
def test_event(name: str, invoke: Any) -> None:
    event = load_event(name)
    original = copy.deepcopy(event)
    response, captured = invoke(event)

    assert set(response) == RESPONSE_KEYS
    assert response["requestId"] == event["requestId"]
    assert event == original, "the handler must not mutate the event"
    json.dumps(response)  # CloudFormation reads the response as JSON
    if name.startswith("failure_"):
        assert response["status"] == "failure"
        assert "Resource Web, Properties.IamRole" in response["errorMessage"]
        assert '"AppRle"' in response["errorMessage"]
        assert captured.metrics()["Failures"] == [1.0]
    elif name.startswith("malformed_"):
        assert response["status"] == "failure"
        assert response["errorMessage"]
    else:
        assert response["status"] == "success", response["errorMessage"]
        assert response["errorMessage"] == ""
        if name.startswith("large_"):
            # The generated template at CloudFormation's limits (scripts/make_events.py): 500 after expansion.
            assert len(response["fragment"]["Resources"]) == 500
        else:
            assert_site_expanded(SITE_BY_SLUG[name.removesuffix(".json")], response["fragment"])
        metrics = captured.metrics()
        assert metrics["Failures"] == [0.0]
        assert metrics["ProfilesCreated"][0] >= 1
        assert metrics["SitesRewritten"][0] >= 1


# -- malformed events ------------------------------------------------------------------------------------

GOOD = load_event("ec2_instance.json")


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


@pytest.mark.parametrize(
    ("event", "words"),
    [
        pytest.param({**GOOD, "fragment": None}, "template-level", id="fragment-none"),
        pytest.param({**GOOD, "fragment": [GOOD["fragment"]]}, "template-level", id="fragment-list"),
        pytest.param({**GOOD, "fragment": "Resources: {}"}, "template-level", id="fragment-string"),
        pytest.param(_without("fragment"), "without a fragment", id="no-fragment"),
        pytest.param(_without("requestId"), "without a requestId", id="no-request-id"),
        pytest.param({**GOOD, "requestId": 42}, "without a requestId", id="request-id-not-string"),
        pytest.param({}, "without a requestId", id="empty-event"),
        pytest.param(None, "without a requestId", id="event-none"),
        pytest.param([GOOD], "without a requestId", id="event-list"),
        # Fn::Transform inside Properties: the fragment is the properties, with no Resources.
        pytest.param(
            {**GOOD, "fragment": {"ImageId": "ami-0123456789abcdef0", "IamRole": "AppRole"}},
            "Transform: ProfileExpand",
            id="snippet-transform",
        ),
    ],
)
def test_malformed_event_is_a_failure_response(event: Any, words: str, invoke: Any) -> None:
    response, captured = invoke(event)
    assert set(response) == RESPONSE_KEYS
    assert response["status"] == "failure"
    assert words in response["errorMessage"]
    expected_id = event.get("requestId") if isinstance(event, dict) else None
    assert response["requestId"] == (expected_id if isinstance(expected_id, str) else "")
    assert captured.metrics()["Failures"] == [1.0]


# -- unexpected errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("internal-detail-xyz"),
        KeyError("internal-detail-xyz"),
        RecursionError("internal-detail-xyz"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unexpected_error_is_generic_and_logged(
    error: Exception, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(template: Any) -> Any:
        raise error

    monkeypatch.setattr(handler, "expand_with_report", explode)
    response, captured = invoke(load_event("ec2_instance.json"))

    assert set(response) == RESPONSE_KEYS
    assert response["status"] == "failure"
    assert GOOD["requestId"] in response["errorMessage"]
    assert "internal-detail-xyz" not in response["errorMessage"]
    errors = [r for r in captured.logs if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "internal-detail-xyz" in errors[0]["exception"], "the traceback belongs in the log"
    assert errors[0]["correlation_id"] == GOOD["requestId"]
    assert captured.metrics()["Failures"] == [1.0]


# -- logs --------------------------------------------------------------------------------------------------

SECRET = "NoEcho-s3cr3t-Value-7781"
MARKER = "fragment-only-marker-5521"


def secret_event(role: str = "AppRole") -> dict[str, Any]:
    """The EC2 instance event with a NoEcho parameter value and a marker only the fragment holds."""
    event = load_event("ec2_instance.json")
    fragment = event["fragment"]
    fragment["Parameters"] = {"DbPassword": {"Type": "String", "NoEcho": True}}
    properties = fragment["Resources"]["Web"]["Properties"]
    properties["IamRole"] = role
    properties["UserData"] = {"Fn::Base64": {"Fn::Sub": f"echo {MARKER} ${{DbPassword}}"}}
    event["templateParameterValues"] = {"DbPassword": SECRET}
    event["params"] = {"Marker": MARKER}
    return event


@pytest.mark.parametrize("role", ["AppRole", f"not a role {MARKER}"], ids=["success", "template-error"])
def test_logs_hold_no_parameter_value_nor_fragment_content(role: str, invoke: Any) -> None:
    response, captured = invoke(secret_event(role))
    if role == "AppRole":
        assert response["status"] == "success"
    else:
        # The user sees the offending value in the stack events; the log does not repeat it.
        assert response["status"] == "failure"
        assert MARKER in response["errorMessage"]
    assert captured.logs, "the handler logs each invocation"
    for text in (captured.log_text, captured.stdout):
        assert SECRET not in text
        assert MARKER not in text
        assert "UserData" not in text


def test_env_cannot_turn_on_event_logging() -> None:
    # POWERTOOLS_LOGGER_LOG_EVENT=true would log the whole event; the handler pins log_event=False.
    script = (
        "import json, sys\n"
        "from profile_expand.macro.handler import lambda_handler\n"
        + fake_context_source()
        + "print(json.dumps(lambda_handler(json.load(sys.stdin), context)['status']))\n"
    )
    env = {**os.environ, "POWERTOOLS_LOGGER_LOG_EVENT": "true", "POWERTOOLS_LOG_LEVEL": "DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(secret_event()),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert '"success"' in done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert MARKER not in done.stdout + done.stderr


def test_info_log_has_counts_ids_and_event_keys(invoke: Any) -> None:
    event = load_event("ec2_instance.json")
    _, captured = invoke(event)
    (record,) = [r for r in captured.logs if r["message"] == "Template expanded"]
    assert record["level"] == "INFO"
    assert record["service"] == "profile-expand"
    assert record["profilesCreated"] == ["AppRoleInstanceProfile"]
    assert record["sitesRewritten"] == 1
    assert record["warningCount"] == 0
    assert record["correlation_id"] == event["requestId"]
    assert record["function_request_id"] == FakeLambdaContext.aws_request_id
    for key in ("transformId", "region", "accountId"):
        assert record[key] == event[key]
    for key in ("fragment", "params", "templateParameterValues"):
        assert key not in record


def test_core_warnings_are_logged_at_warning(invoke: Any) -> None:
    # The classic mistake: a role where the profile belongs. The core rewrites it and warns.
    event = load_event("ec2_instance.json")
    properties = event["fragment"]["Resources"]["Web"]["Properties"]
    del properties["IamRole"]
    properties["IamInstanceProfile"] = {"Ref": "AppRole"}
    response, captured = invoke(event)

    assert response["status"] == "success"
    assert response["fragment"]["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "AppRoleInstanceProfile"
    }
    warnings = [r for r in captured.logs if r["level"] == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0]["logicalId"] == "Web"
    assert warnings[0]["path"] == "Properties.IamInstanceProfile"
    assert captured.metrics()["Warnings"] == [1.0]


def test_a_hand_written_profile_in_the_wrong_form_is_corrected_and_logged(invoke: Any) -> None:
    """Issue 10: a profile of the template given by its ARN where the name goes, written by hand."""
    event = load_event("ec2_instance.json")
    resources = event["fragment"]["Resources"]
    resources["AppProfile"] = {
        "Type": "AWS::IAM::InstanceProfile",
        "Properties": {"Roles": [{"Ref": "AppRole"}]},
    }
    properties = resources["Web"]["Properties"]
    del properties["IamRole"]
    properties["IamInstanceProfile"] = {"Fn::GetAtt": ["AppProfile", "Arn"]}
    response, captured = invoke(event)

    assert response["status"] == "success"
    assert response["fragment"]["Resources"]["Web"]["Properties"]["IamInstanceProfile"] == {
        "Ref": "AppProfile"
    }
    (warning,) = [r for r in captured.logs if r["level"] == "WARNING"]
    assert (warning["logicalId"], warning["path"]) == ("Web", "Properties.IamInstanceProfile")
    assert "ProfileExpand wrote `!Ref AppProfile`" in warning["message"]


def test_state_does_not_leak_between_invocations(invoke: Any) -> None:
    invoke(load_event("ec2_instance.json"))
    _, captured = invoke(load_event("malformed_no_fragment.json") | {"transformId": None})
    (record,) = captured.logs
    assert "transformId" not in record
    assert record["correlation_id"] == load_event("malformed_no_fragment.json")["requestId"]


# -- import cost -------------------------------------------------------------------------------------------


def test_import_pulls_in_neither_boto3_nor_author_tools() -> None:
    script = (
        "import sys, profile_expand.macro.handler\n"
        "heavy = {'boto3', 'yaml', 'cfnlint', 'jsonschema', 'profile_expand.cli.main', 'profile_expand.cli.yaml_io'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- the events follow the golden inputs -------------------------------------------------------------------


def test_events_are_generated_from_the_golden_inputs() -> None:
    spec = importlib.util.spec_from_file_location("make_events", ROOT / "scripts" / "make_events.py")
    assert spec is not None and spec.loader is not None
    make_events = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_events)
    expected = {name: make_events.render(event) for name, event in make_events.build_events().items()}
    actual = {p.name: p.read_text(encoding="utf-8") for p in sam_local.macro_events()}
    assert actual == expected, "events/ is stale: run `python scripts/make_events.py` and review the diff"
