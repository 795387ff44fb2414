"""The guard's core: a CloudFormation Lambda hook event in, the hook's response out. Pure: IAM and the
payload's fetch are passed in (account.Iam, Fetch), so nothing here touches the network or the clock.

RESOURCE and CLOUD_CONTROL targets are judged on their resolved properties with the one sites table and
the core's judgements, plus what IAM says of each literal name; STACK and CHANGE_SET targets run the lint
rules' model on the submitted template. Only what an operation changes is ever blamed.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from profile_expand.core import cfn
from profile_expand.core.account import Iam, ProfileFacts, RoleFacts, asked, judge_in_account
from profile_expand.core.errors import (
    ERROR,
    MACRO_ERROR,
    PROFILE_NOT_FOUND,
    Finding,
    GuardUnavailable,
    InvalidEventError,
    ProfileExpandError,
)
from profile_expand.core.pipeline import analyse, analyse_resource
from profile_expand.core.sites import SITES
from profile_expand.core.text import Path, short

# GET the payload from this URL and return its bytes; raise GuardUnavailable when it cannot be read.
Fetch = Callable[[str], bytes]

SUCCESS: Final = "SUCCESS"
FAILED: Final = "FAILED"
IN_PROGRESS: Final = "IN_PROGRESS"
NON_COMPLIANT: Final = "NonCompliant"
INTERNAL_FAILURE: Final = "InternalFailure"
STACK: Final = "STACK"
CHANGE_SET: Final = "CHANGE_SET"
DELETE: Final = "DELETE_PRE_PROVISION"
# The hook's response is cut at 4096 characters (1024 under Cloud Control); the status reason that CDK,
# the console and ListHookResults show is its first 1024, so the first finding must fit there whole.
MESSAGE_LIMIT: Final = 4096
CLOUD_CONTROL_LIMIT: Final = 1024
HEADLINE_LIMIT: Final = 1024
# IAM is eventually consistent: a profile made seconds ago may not be visible yet. Ask once more after this.
ASK_AGAIN_SECONDS: Final = 15
ASKED_AGAIN: Final = "askedAgain"
README_LINK: Final = "https://github.com/profile-expand/profile-expand#guard-every-stack"
# What the guard's hooks target: every site's resource type, and the profiles themselves (their Roles).
GUARDED_TYPES: Final = tuple(
    dict.fromkeys((*(site.resource_type for site in SITES), cfn.INSTANCE_PROFILE_TYPE))
)
# The payload lives in S3 and is handed over as a presigned https URL; nothing else is ever fetched.
_S3_HOST: Final = r"([a-z0-9][a-z0-9.-]*\.)?s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?"
_ABSENT: Final = object()


class Verdict(NamedTuple):
    """The response, and what the handler may log about it: codes and logical IDs, never values."""

    response: dict[str, Any]
    findings: tuple[Finding, ...]
    target: str
    iam_calls: int = 0


class _Asking:
    """IAM within one invocation: each name asked at most once per call (so at most two calls a value)."""

    def __init__(self, iam: Iam) -> None:
        self.iam = iam
        self.calls = 0
        self.profiles: dict[str, ProfileFacts | None] = {}
        self.roles: dict[str, RoleFacts | None] = {}

    def instance_profile(self, name: str) -> ProfileFacts | None:
        if name not in self.profiles:
            self.calls += 1
            self.profiles[name] = self.iam.instance_profile(name)
        return self.profiles[name]

    def role(self, name: str) -> RoleFacts | None:
        if name not in self.roles:
            self.calls += 1
            self.roles[name] = self.iam.role(name)
        return self.roles[name]


def evaluate(event: object, iam: Iam, fetch: Fetch, macro_name: str = cfn.TRANSFORM_NAME) -> Verdict:
    """Judge one hook invocation. Every outcome is a response; IAM or a payload that cannot be read is
    InternalFailure, never NonCompliant.

    >>> class NoIam:
    ...     def instance_profile(self, name): return None
    ...     def role(self, name): return None
    >>> event = {"clientRequestToken": "t", "actionInvocationPoint": "CREATE_PRE_PROVISION",
    ...          "requestData": {"targetName": "AWS::EC2::Instance", "targetType": "AWS::EC2::Instance",
    ...                          "targetLogicalId": "Web", "targetModel": {"resourceProperties":
    ...                              {"IamInstanceProfile": "arn:aws:iam::123456789012:role/app"}}}}
    >>> verdict = evaluate(event, NoIam(), lambda url: b"")
    >>> verdict.response["hookStatus"], verdict.response["errorCode"], verdict.findings[0].code
    ('FAILED', 'NonCompliant', 'E9001')
    """
    body = event if isinstance(event, Mapping) else {}
    token = request_token(body)
    asking = _Asking(iam)
    target = ""
    try:
        data = _request_data(event)
        target = data["targetName"] if isinstance(data.get("targetName"), str) else ""
        if body.get("actionInvocationPoint") == DELETE:
            return Verdict(hook_response(token, SUCCESS, message="Deletes are not judged."), (), target)
        if data.get("targetType") in (STACK, CHANGE_SET):
            findings = _judge_stack(data, fetch, macro_name)
            deferred = False
        else:
            findings, deferred = _judge_resource(data, asking, _asked_again(body), macro_name)
    except (InvalidEventError, GuardUnavailable) as error:
        return Verdict(hook_response(token, FAILED, INTERNAL_FAILURE, str(error)), (), target, asking.calls)
    limit = CLOUD_CONTROL_LIMIT if not body.get("stackId") else MESSAGE_LIMIT
    if deferred:
        response = hook_response(
            token,
            IN_PROGRESS,
            message="An instance profile was not found in IAM; asking again in case it was just created.",
        )
        response["callbackContext"] = {ASKED_AGAIN: True}
        response["callbackDelaySeconds"] = ASK_AGAIN_SECONDS
        return Verdict(response, findings, target, asking.calls)
    if not findings:
        return Verdict(
            hook_response(token, SUCCESS, message="No instance-profile mistakes."), (), target, asking.calls
        )
    response = hook_response(token, FAILED, NON_COMPLIANT, summary(findings, limit))
    response["annotations"] = [_annotation(finding) for finding in findings]
    return Verdict(response, findings, target, asking.calls)


def request_token(event: object) -> str:
    """The event's clientRequestToken, which the response echoes ("" when there is none)."""
    # The hooks guide spells it both ways.
    if not isinstance(event, Mapping):
        return ""
    for key in ("clientRequestToken", "clientRequesttoken"):
        if isinstance(event.get(key), str):
            return str(event[key])
    return ""


def _request_data(event: object) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidEventError("The ProfileExpand guard received a hook event that is not a JSON object.")
    data = event.get("requestData")
    if not isinstance(data, Mapping):
        raise InvalidEventError("The ProfileExpand guard received a hook event without requestData.")
    return data


def _asked_again(event: Mapping[str, Any]) -> bool:
    context = event.get("requestContext")
    callback = context.get("callbackContext") if isinstance(context, Mapping) else None
    return isinstance(callback, Mapping) and callback.get(ASKED_AGAIN) is True


# -- RESOURCE and CLOUD_CONTROL ------------------------------------------------------------------------


def _judge_resource(
    data: Mapping[str, Any], iam: Iam, asked_again: bool, macro_name: str
) -> tuple[tuple[Finding, ...], bool]:
    """The findings on what this operation changes, and whether to ask IAM again before failing."""
    resource_type, logical_id = data.get("targetName"), data.get("targetLogicalId")
    if not isinstance(resource_type, str) or not resource_type:
        raise InvalidEventError("The ProfileExpand guard received a hook event without a targetName.")
    if resource_type not in GUARDED_TYPES:
        return (), False
    model = data.get("targetModel")
    model = model if isinstance(model, Mapping) else {}
    logical_id = logical_id if isinstance(logical_id, str) and logical_id else resource_type
    now = _resource(resource_type, model.get("resourceProperties"))
    before = _resource(resource_type, model.get("previousResourceProperties"))

    def changed(path: Path) -> bool:
        # An update is judged only where it changes a value: an old stack's unrelated update never fails.
        return _at(now, path) != _at(before, path)

    analysis = analyse_resource(resource_type, logical_id, now[cfn.PROPERTIES], macro_name=macro_name)
    findings = [f for f in _blocking(analysis.findings) if changed(f.path)]
    for leaf in analysis.found:
        name = asked(leaf) if changed(leaf.path) else None
        if name is None:
            continue
        profile = iam.instance_profile(name.name)
        role = iam.role(name.name) if profile is None else None
        findings.extend(judge_in_account(leaf, name, profile, role, macro_name))
    unique = tuple(dict.fromkeys(findings))
    missing = bool(unique) and all(f.code == PROFILE_NOT_FOUND for f in unique)
    return unique, missing and not asked_again


def _resource(resource_type: str, properties: object) -> dict[str, Any]:
    return {cfn.TYPE: resource_type, cfn.PROPERTIES: properties if isinstance(properties, Mapping) else {}}


def _at(node: object, path: Path) -> object:
    for step in path:
        in_list = isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node)
        if not (in_list or (isinstance(step, str) and isinstance(node, Mapping) and step in node)):
            return _ABSENT
        node = node[step]  # type: ignore[index]
    return node


def _blocking(findings: tuple[Finding, ...]) -> list[Finding]:
    """The errors a deploy must not get past; the macro's own errors concern its shorthand, never deployed."""
    return [f for f in findings if f.severity == ERROR and f.code != MACRO_ERROR]


# -- STACK and CHANGE_SET ------------------------------------------------------------------------------


def _judge_stack(data: Mapping[str, Any], fetch: Fetch, macro_name: str) -> tuple[Finding, ...]:
    url = data.get("payload")
    if not isinstance(url, str) or not is_payload_url(url):
        raise GuardUnavailable(
            "The ProfileExpand guard refused the hook's payload URL: it reads payloads only from an "
            "https:// Amazon S3 address."
        )
    try:
        payload = json.loads(fetch(url))
    except ValueError as error:
        raise GuardUnavailable(
            "The ProfileExpand guard could not read the hook's payload (not JSON)."
        ) from error
    if not isinstance(payload, Mapping):
        raise GuardUnavailable("The ProfileExpand guard could not read the hook's payload (not an object).")
    template = _template(payload.get("template"))
    if template is None or template.get(cfn.TRANSFORM):
        # A Transform changes what deploys: the RESOURCE targets judge what the transforms produce.
        return ()
    previous = _template(payload.get("previousTemplate"))
    already = set(_stack_findings(previous, macro_name)) if previous is not None else set()
    return tuple(f for f in _stack_findings(template, macro_name) if f not in already)


def is_payload_url(url: str) -> bool:
    """An https:// URL of Amazon S3, on the default port, without credentials in it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and parts.username is None
        and re.fullmatch(_S3_HOST, host) is not None
    )


def _template(text: object) -> Mapping[str, Any] | None:
    if not isinstance(text, str) or not text.strip():
        return None  # a delete, or a stack's first operation
    from profile_expand.core.template_text import load_template

    try:
        template = load_template(text)
    except ProfileExpandError as error:
        raise GuardUnavailable(f"The ProfileExpand guard could not read the template: {error}") from error
    return template if isinstance(template, Mapping) else None


def _stack_findings(template: Mapping[str, Any], macro_name: str) -> list[Finding]:
    return _blocking(analyse(template, transform_declared=False, macro_name=macro_name).findings)


# -- the response --------------------------------------------------------------------------------------


def hook_response(token: str, status: str, code: str | None = None, message: str = "") -> dict[str, Any]:
    """A hook response: the status, its error code when FAILED, the message and the echoed token."""
    response: dict[str, Any] = {"hookStatus": status, "message": message, "clientRequestToken": token}
    if code is not None:
        response["errorCode"] = code
    return response


def summary(findings: tuple[Finding, ...], limit: int = MESSAGE_LIMIT) -> str:
    """The failure message: a count, then each finding located and coded, the first one whole within the
    first 1024 characters (all that CDK and the console show), the rest as far as `limit` allows."""
    count = len(findings)
    head = f"ProfileExpand guard: {count} instance-profile {'mistake' if count == 1 else 'mistakes'}. "
    parts = [f"[{f.code}] {f}" for f in findings]
    text = head + _cut(parts[0], min(limit, HEADLINE_LIMIT) - len(head))
    for shown, part in enumerate(parts[1:], start=1):
        rest = f" (and {count - shown} more: see the hook's annotations)"
        if len(text) + 1 + len(part) + len(rest) > limit:
            return text + rest if len(text) + len(rest) <= limit else text
        text += " " + part
    return text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _annotation(finding: Finding) -> dict[str, Any]:
    where = f"{short(finding.logical_id)} {finding.as_error().dotted_path}".strip()
    return {
        "annotationName": f"ProfileExpand{finding.code}",
        "status": FAILED,
        "statusMessage": _cut(f"{finding.code} at {where}", 256),
        "remediationMessage": _cut(finding.message, 1024),
        "remediationLink": README_LINK,
        "severityLevel": "HIGH",
    }
