"""The guard's Lambda adapter: a CloudFormation hook event in, the hook's response out, around guard.py.

Logs and counts codes and logical IDs only: resolved properties carry secrets (UserData, parameters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from profile_expand.guard.aws import BotoIam, fetch_payload
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
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ProfileExpand", service=SERVICE)
# Created at init, reused warm. Short timeouts: a hook has 30 s, and a slow IAM is InternalFailure anyway.
# The endpoint follows AWS_ENDPOINT_URL_IAM when set (sam local invoke against a moto server).
_IAM: Final = boto3.client(
    "iam", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
)


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(clear_state=True, log_event=False)  # explicit: env cannot turn it on
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Judge one hook invocation; answer with the hook response."""
    try:
        verdict = evaluate(event, BotoIam(_IAM), fetch_payload)
    except Exception:
        # A bug, not a template problem: keep the traceback in the log, never blame the template.
        logger.exception("Unexpected error in the guard")
        metrics.add_metric(name="GuardErrors", unit=MetricUnit.Count, value=1)
        message = f"The ProfileExpand guard failed (request {context.aws_request_id}); see its log."
        return hook_response(request_token(event), FAILED, INTERNAL_FAILURE, message)
    response = verdict.response
    logger.info(
        "Hook evaluated",
        extra={
            "target": verdict.target,
            "hookStatus": response["hookStatus"],
            "errorCode": response.get("errorCode"),
            "codes": sorted({f.code for f in verdict.findings}),
            "logicalIds": sorted({f.logical_id for f in verdict.findings}),
            "iamCalls": verdict.iam_calls,
        },
    )
    non_compliant = response.get("errorCode") == NON_COMPLIANT
    metrics.add_metric(name="NonCompliant", unit=MetricUnit.Count, value=int(non_compliant))
    metrics.add_metric(name="Findings", unit=MetricUnit.Count, value=len(verdict.findings))
    metrics.add_metric(name="IamCalls", unit=MetricUnit.Count, value=verdict.iam_calls)
    return response
