"""The Lambda adapter: a CloudFormation macro event in, a macro response out, around the pure core.

Every outcome is a response (never an exception), so CloudFormation always shows our errorMessage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

# Only Logger and Metrics: the powertools package imports in ~30 ms and pulls in no boto3.
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from profile_expand.core.errors import InvalidEventError, InvalidTemplateError, format_path
from profile_expand.core.pipeline import expand_with_report

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE: Final = "profile-expand"
NAMESPACE: Final = "ProfileExpand"
SUCCESS: Final = "success"
FAILURE: Final = "failure"
# Event keys that are safe to log. Never the fragment, params or templateParameterValues:
# NoEcho parameter values arrive in templateParameterValues.
_LOGGED_EVENT_KEYS: Final = ("transformId", "region", "accountId")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def _response(request_id: str, status: str, fragment: Any, error_message: str = "") -> dict[str, Any]:
    """The macro contract: exactly these four keys; errorMessage is empty on success."""
    return {"requestId": request_id, "status": status, "fragment": fragment, "errorMessage": error_message}


def _template_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The fragment, or InvalidEventError when the event cannot carry a template."""
    if not isinstance(event.get("requestId"), str):
        raise InvalidEventError("ProfileExpand received a macro event without a requestId.")
    if "fragment" not in event:
        raise InvalidEventError("ProfileExpand received a macro event without a fragment.")
    fragment = event["fragment"]
    if not isinstance(fragment, Mapping):
        raise InvalidEventError(
            f"ProfileExpand received a fragment that is {type(fragment).__name__}, not a template. "
            "Use it as a template-level `Transform: ProfileExpand`, not as a snippet-level Fn::Transform."
        )
    return fragment


def _count(failures: int, profiles: int = 0, sites: int = 0, warnings: int = 0) -> None:
    # Every metric on every invocation, so a dashboard sees zeros rather than gaps.
    metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=failures)
    metrics.add_metric(name="ProfilesCreated", unit=MetricUnit.Count, value=profiles)
    metrics.add_metric(name="SitesRewritten", unit=MetricUnit.Count, value=sites)
    metrics.add_metric(name="Warnings", unit=MetricUnit.Count, value=warnings)


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(clear_state=True, log_event=False)  # explicit: env cannot turn it on
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Expand the fragment of a CloudFormation macro event; answer with the macro response."""
    if not isinstance(event, Mapping):
        event = {}
    raw_request_id = event.get("requestId")
    request_id = raw_request_id if isinstance(raw_request_id, str) else ""
    logger.append_keys(**{key: event[key] for key in _LOGGED_EVENT_KEYS if isinstance(event.get(key), str)})
    logger.set_correlation_id(request_id or None)
    fragment = event.get("fragment")
    try:
        expansion = expand_with_report(_template_of(event))
    except InvalidEventError as error:
        logger.warning("Macro event rejected")
        _count(failures=1)
        return _response(request_id, FAILURE, fragment, str(error))
    except InvalidTemplateError as error:
        # Logical IDs only: the messages quote template values, and CloudFormation shows them anyway.
        logger.warning(
            "Template rejected",
            extra={
                "errorCount": len(error.errors),
                "logicalIds": sorted({e.logical_id for e in error.errors}),
            },
        )
        _count(failures=1)
        return _response(request_id, FAILURE, fragment, error.summary)
    except Exception:
        # A bug, not a template problem: keep the traceback in the log, give the user a handle to it.
        logger.exception("Unexpected error while expanding the template")
        _count(failures=1)
        return _response(
            request_id,
            FAILURE,
            fragment,
            f"ProfileExpand failed with an internal error (request {request_id or 'unknown'}); "
            "see the macro function's log for that request ID.",
        )
    for warning in expansion.warnings:
        logger.warning(
            warning.message, extra={"logicalId": warning.logical_id, "path": format_path(warning.path)}
        )
    logger.info(
        "Template expanded",
        extra={
            "profilesCreated": list(expansion.profiles_created),
            "sitesRewritten": expansion.sites_rewritten,
            "warningCount": len(expansion.warnings),
        },
    )
    _count(0, len(expansion.profiles_created), expansion.sites_rewritten, len(expansion.warnings))
    return _response(request_id, SUCCESS, expansion.template)
