"""The guard's two doors to AWS, kept out of the pure core: IAM through a boto3 client, the payload
through the standard library. Every failure becomes GuardUnavailable (InternalFailure), never a verdict.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from profile_expand.core.account import ProfileFacts, RoleFacts
from profile_expand.core.errors import GuardUnavailable
from profile_expand.guard.hook import is_payload_url

# A hook's payload holds at most two templates of 1 MB each, plus the changed resources of a change set.
MAX_PAYLOAD_BYTES: Final = 8 * 1024 * 1024
FETCH_TIMEOUT_SECONDS: Final = 10
_NO_SUCH_ENTITY: Final = "NoSuchEntity"


class BotoIam:
    """account.Iam over a boto3 IAM client (GetInstanceProfile, GetRole: read-only)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def instance_profile(self, name: str) -> ProfileFacts | None:
        answer = self._call("GetInstanceProfile", name, InstanceProfileName=name)
        if answer is None:
            return None
        profile = answer["InstanceProfile"]
        roles = tuple(_role(role) for role in profile.get("Roles", []))
        return ProfileFacts(profile["InstanceProfileName"], profile.get("Path", "/"), roles)

    def role(self, name: str) -> RoleFacts | None:
        answer = self._call("GetRole", name, RoleName=name)
        return None if answer is None else _role(answer["Role"])

    def _call(self, operation: str, name: str, **arguments: str) -> Mapping[str, Any] | None:
        method = (
            self.client.get_instance_profile if operation == "GetInstanceProfile" else self.client.get_role
        )
        try:
            answer: Mapping[str, Any] = method(**arguments)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "unknown"))
            if code == _NO_SUCH_ENTITY:
                return None
            # AccessDenied, Throttling ...: the guard's own trouble, never the template's.
            raise GuardUnavailable(
                f"The ProfileExpand guard could not ask IAM ({operation} {name!r}: {code}); "
                "see the guard function's log and its role's permissions."
            ) from error
        except BotoCoreError as error:
            raise GuardUnavailable(
                f"The ProfileExpand guard could not reach IAM ({operation} {name!r}: {type(error).__name__})."
            ) from error
        return answer


def _role(role: Mapping[str, Any]) -> RoleFacts:
    return RoleFacts(role["RoleName"], role.get("Path", "/"), role.get("AssumeRolePolicyDocument"))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A presigned URL answers itself: a redirect could lead anywhere, so none is followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_payload(url: str) -> bytes:
    """GET a hook payload from its presigned https S3 URL (refused without a request otherwise)."""
    if not is_payload_url(url):
        raise GuardUnavailable(
            "The ProfileExpand guard refused a payload URL that is not https:// Amazon S3."
        )
    # Built per fetch, not at import: its HTTPS handler loads the CA certificates (tens of ms of cold
    # start), and only STACK and CHANGE_SET targets fetch anything.
    opener = urllib.request.build_opener(_NoRedirects())
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:
            body: bytes = answer.read(MAX_PAYLOAD_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise GuardUnavailable(
            f"The ProfileExpand guard could not read the hook's payload ({type(error).__name__})."
        ) from error
    if len(body) > MAX_PAYLOAD_BYTES:
        raise GuardUnavailable(f"The hook's payload is larger than {MAX_PAYLOAD_BYTES} bytes.")
    return body
