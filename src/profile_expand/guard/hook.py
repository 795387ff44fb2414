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
from typing import Any, Final, NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlsplit

from profile_expand.core import cfn
from profile_expand.core.account import (
    Asked,
    Home,
    Iam,
    ProfileFacts,
    RoleFacts,
    asked,
    judge_in_account,
    may_still_appear,
    unaskable,
)
from profile_expand.core.errors import (
    ERROR,
    MACRO_ERROR,
    Finding,
    GuardUnavailable,
    InvalidEventError,
    ProfileExpandError,
    TemplateSyntaxError,
)
from profile_expand.core.model import Found
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
# The re-ask happens at most once, at the first invocation: CloudFormation allows IN_PROGRESS three times,
# and counts invocations itself, so a lost or mangled callbackContext still cannot make it loop.
LAST_INVOCATION_TO_ASK_AGAIN: Final = 1
# Lambda answers at most 6 MB: the annotations stop at this many (each cut to 256 + 1024 characters), the
# last one saying how many more there are, so the answer stays far below (about 170 kB at most).
MAX_ANNOTATIONS: Final = 100
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
    cause: str = ""  # an InternalFailure's cause, for the log (an operation and a code, never a value)


@runtime_checkable
class Remembers(Protocol):
    """An Iam that may answer from what it remembers (guard/aws.py's RecentIam, in a warm container)."""

    def forget(self, name: str) -> bool:
        """Drop what is remembered of profile `name`: True when something was (asking again may differ)."""
        ...


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

    def fresh(self, name: str) -> bool:
        """Forget a remembered answer about `name` before it blames a template: True when one was."""
        if isinstance(self.iam, Remembers) and self.iam.forget(name):
            self.profiles.pop(name, None)
            self.roles.pop(name, None)
            return True
        return False

    def role(self, name: str) -> RoleFacts | None:
        if name not in self.roles:
            self.calls += 1
            self.roles[name] = self.iam.role(name)
        return self.roles[name]


def evaluate(
    event: object,
    iam: Iam,
    fetch: Fetch,
    macro_name: str = cfn.TRANSFORM_NAME,
    home: Home | None = None,
) -> Verdict:
    """Judge one hook invocation. Every outcome is a response; IAM or a payload that cannot be read is
    InternalFailure, never NonCompliant. `home` is the account judged in (else the event's).

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
            where = home or _home_of(body)
            findings, deferred = _judge_resource(data, asking, may_ask_again(body), macro_name, where)
    except (InvalidEventError, GuardUnavailable) as error:
        limit = CLOUD_CONTROL_LIMIT if not body.get("stackId") else MESSAGE_LIMIT
        response = hook_response(token, FAILED, INTERNAL_FAILURE, _cut(str(error), limit))
        cause = error.cause if isinstance(error, GuardUnavailable) else "invalid event"
        return Verdict(response, (), target, asking.calls, cause)
    limit = CLOUD_CONTROL_LIMIT if not body.get("stackId") else MESSAGE_LIMIT
    if deferred:
        response = hook_response(
            token,
            IN_PROGRESS,
            message="IAM does not show an instance profile (or its role) yet; asking again in case it was "
            "just created.",
        )
        response["callbackContext"] = {ASKED_AGAIN: True}
        response["callbackDelaySeconds"] = ASK_AGAIN_SECONDS
        return Verdict(response, findings, target, asking.calls)
    if not findings:
        return Verdict(
            hook_response(token, SUCCESS, message="No instance-profile mistakes."), (), target, asking.calls
        )
    response = hook_response(token, FAILED, NON_COMPLIANT, summary(findings, limit))
    response["annotations"] = annotations(findings)
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


def may_ask_again(event: Mapping[str, Any]) -> bool:
    """Whether this invocation may still answer IN_PROGRESS: only the first (by CloudFormation's count),
    and only with an empty callbackContext (null, {}, absent). Ours is {"askedAgain": true}; any other
    content, a JSON string or "true" included, counts as asked, and so does an unreadable invocation."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return True  # no requestContext at all: a first invocation as the guide's examples show it
    invocation = context.get("invocation", 1)
    if isinstance(invocation, str) and invocation.strip().isdigit():
        invocation = int(invocation)
    if isinstance(invocation, bool) or not isinstance(invocation, int):
        return False
    callback = context.get("callbackContext")
    empty = callback in (None, "", "null", "{}") or (isinstance(callback, Mapping) and not callback)
    return invocation <= LAST_INVOCATION_TO_ASK_AGAIN and empty


def _home_of(event: Mapping[str, Any]) -> Home:
    """The account and partition of the event: its awsAccountId, the partition of its stack's ARN."""
    account = event.get("awsAccountId")
    model = event.get("hookModel")
    partition = ""
    for arn in (event.get("stackId"), model.get("LambdaFunction") if isinstance(model, Mapping) else None):
        if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 2:
            partition = arn.split(":")[1]
            break
    return Home(partition, account if isinstance(account, str) else "")


# -- RESOURCE and CLOUD_CONTROL ------------------------------------------------------------------------


def _judge_resource(
    data: Mapping[str, Any], iam: _Asking, may_defer: bool, macro_name: str, home: Home
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
    # Deferred only when every finding may be IAM being late (eventual consistency), never the template.
    settled = bool(findings)
    for leaf in analysis.found:
        name = asked(leaf) if changed(leaf.path) else None
        if name is None:
            continue
        impossible = unaskable(leaf, name, home)
        if impossible:
            findings.extend(impossible)
            settled = True
            continue
        judged = _judge_leaf(iam, leaf, name, macro_name)
        if judged and iam.fresh(name.name):
            judged = _judge_leaf(iam, leaf, name, macro_name)  # never blame from a remembered answer
        findings.extend(judged)
        settled = settled or (bool(judged) and not may_still_appear(iam.profiles[name.name]))
    unique = tuple(dict.fromkeys(findings))
    return unique, bool(unique) and not settled and may_defer


def _judge_leaf(iam: _Asking, leaf: Found, name: Asked, macro_name: str) -> tuple[Finding, ...]:
    profile = iam.instance_profile(name.name)
    role = iam.role(name.name) if profile is None else None
    return judge_in_account(leaf, name, profile, role, macro_name)


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
            "The ProfileExpand guard could not read the hook's payload (not JSON).", "payload not JSON"
        ) from error
    text = payload.get("template") if isinstance(payload, Mapping) else None
    previous = payload.get("previousTemplate") if isinstance(payload, Mapping) else None
    if isinstance(text, str) and text.strip() and text == previous:
        return ()  # an update that leaves the template as it was (parameters only): nothing to read
    template = _template(text)
    if template is None:
        # Fail closed: a payload the guard does not recognise is its own trouble, never a pass.
        raise GuardUnavailable(
            "The ProfileExpand guard did not recognise the hook's payload: no template with Resources in it.",
            "payload not recognised",
        )
    if template.get(cfn.TRANSFORM):
        # A Transform changes what deploys: the RESOURCE targets judge what the transforms produce.
        return ()
    findings = _stack_findings(template, macro_name)
    if not findings:
        return ()  # the previous template matters only to excuse a finding: not read at all otherwise
    if not isinstance(previous, str) or not previous.strip():
        return tuple(findings)  # a stack's first operation
    before = _template(previous)
    already = set(_stack_findings(before, macro_name)) if before is not None else set()
    return tuple(f for f in findings if f not in already)


def is_payload_url(url: str) -> bool:
    """An https:// URL of Amazon S3, on the default port, without credentials in it, and nothing in it
    an HTTP request line cannot carry (whitespace, control characters)."""
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        return False
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
    """The template of this text, None when the text is no template (no mapping with Resources in it)."""
    if not isinstance(text, str) or not text.strip():
        return None
    from profile_expand.core.template_text import load_template

    try:
        template = load_template(text)
    except ProfileExpandError as error:
        # Where, never what: a parser's message quotes the template (a tag, an alias) and has no bound.
        at = f" at line {error.line}, column {error.column}" if isinstance(error, TemplateSyntaxError) else ""
        raise GuardUnavailable(
            f"The ProfileExpand guard could not read the template: it is neither JSON nor YAML{at}.",
            "template not JSON or YAML",
        ) from None
    if not isinstance(template, Mapping) or not isinstance(template.get(cfn.RESOURCES), Mapping):
        return None
    return template


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


def annotations(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    """One annotation a finding, at most MAX_ANNOTATIONS: the last then says how many are not shown."""
    if len(findings) <= MAX_ANNOTATIONS:
        return [_annotation(finding) for finding in findings]
    shown = [_annotation(finding) for finding in findings[: MAX_ANNOTATIONS - 1]]
    more = len(findings) - len(shown)
    return [
        *shown,
        {
            "annotationName": "ProfileExpandMore",
            "status": FAILED,
            "statusMessage": f"{more} more instance-profile mistakes",
            "remediationMessage": f"{more} more findings are not shown here: run `profile-expand lint` on the "
            "template to see them all.",
            "remediationLink": README_LINK,
            "severityLevel": "HIGH",
        },
    ]


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
