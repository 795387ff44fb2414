"""The guard's Lambda adapter: a CloudFormation hook event in, the hook's response out, around hook.py.

Logs and counts codes and logical IDs only: resolved properties carry secrets (UserData, parameters).
Every log field is bounded: a logical ID or a target name may be as long as the event allows.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Final

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from profile_expand.core.text import short
from profile_expand.guard.aws import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    BotoIam,
    Deadline,
    RecentIam,
    fetch_payload,
)
from profile_expand.guard.hook import (
    FAILED,
    INTERNAL_FAILURE,
    NON_COMPLIANT,
    evaluate,
    hook_response,
    request_token,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE: Final = "profile-expand-guard"
# The log names at most this many logical IDs, each cut to LOGGED_ID_CHARACTERS (with the full count).
LOGGED_IDS: Final = 20
LOGGED_ID_CHARACTERS: Final = 256
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ProfileExpand", service=SERVICE)
# Created at init, reused warm. One attempt per call in botocore (`max_attempts: 2` would be three): the
# guard retries itself, only when an attempt can end before the invocation's deadline (aws.BotoIam).
# The endpoint follows AWS_ENDPOINT_URL_IAM when set (sam local invoke against a moto server).
_IAM: Final = boto3.client(
    "iam",
    config=Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1, "mode": "standard"},
    ),
)
# What IAM said of profiles holding a role, for a minute, in this warm container (aws.RecentIam).
_RECENT: Final = RecentIam()


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(clear_state=True, log_event=False)  # explicit: env cannot turn it on
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Judge one hook invocation; answer with the hook response."""
    deadline = Deadline.of(context)
    try:
        iam = _RECENT.asking(BotoIam(_IAM, deadline))
        verdict = evaluate(event, iam, partial(fetch_payload, deadline=deadline))
    except Exception:
        # A bug, not a template problem: keep the traceback in the log, never blame the template.
        logger.exception("Unexpected error in the guard")
        metrics.add_metric(name="GuardErrors", unit=MetricUnit.Count, value=1)
        message = f"The ProfileExpand guard failed (request {context.aws_request_id}); see its log."
        return hook_response(request_token(event), FAILED, INTERNAL_FAILURE, message)
    response = verdict.response
    logical_ids = sorted({f.logical_id for f in verdict.findings})
    fields = {
        "target": short(verdict.target, LOGGED_ID_CHARACTERS),
        "hookStatus": response["hookStatus"],
        "errorCode": response.get("errorCode"),
        "codes": sorted({f.code for f in verdict.findings}),
        "findings": len(verdict.findings),
        "logicalIds": [short(i, LOGGED_ID_CHARACTERS) for i in logical_ids[:LOGGED_IDS]],
        "logicalIdCount": len(logical_ids),
        "iamCalls": iam.calls,  # sent to IAM; the rest of verdict.iam_calls was answered from memory
        "secondsLeft": round(deadline.left(), 3),
    }
    internal = response.get("errorCode") == INTERNAL_FAILURE
    if internal:
        # The cause is an operation and an error code (or "deadline ..."), never a value.
        logger.warning("Hook not judged: internal failure", extra={**fields, "cause": verdict.cause})
    else:
        logger.info("Hook evaluated", extra=fields)
    non_compliant = response.get("errorCode") == NON_COMPLIANT
    metrics.add_metric(name="NonCompliant", unit=MetricUnit.Count, value=int(non_compliant))
    metrics.add_metric(name="InternalFailures", unit=MetricUnit.Count, value=int(internal))
    metrics.add_metric(name="Findings", unit=MetricUnit.Count, value=len(verdict.findings))
    metrics.add_metric(name="IamCalls", unit=MetricUnit.Count, value=iam.calls)
    return response
