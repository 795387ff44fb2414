"""The guard's two doors to AWS, kept out of the pure core: IAM through a boto3 client, the payload
through the standard library, both within the invocation's one Deadline. Every failure becomes
GuardUnavailable (InternalFailure) with a cause for the log, never a verdict.
"""

from __future__ import annotations

import http.client
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from profile_expand.core.account import Iam, ProfileFacts, RoleFacts
from profile_expand.core.errors import GuardUnavailable
from profile_expand.guard.hook import is_payload_url

# A hook's payload holds at most two templates of 1 MB each, plus the changed resources of a change set.
MAX_PAYLOAD_BYTES: Final = 8 * 1024 * 1024
# The client's own limits (guard/handler.py builds it with them, and no retries of botocore's own: an
# attempt is started only when it can end, timed out, before the deadline; see Deadline).
CONNECT_TIMEOUT_SECONDS: Final = 1.0
READ_TIMEOUT_SECONDS: Final = 5.0
ATTEMPT_SECONDS: Final = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
MAX_ATTEMPTS: Final = 3
# What the answer needs after the last call: judging, the response, the log line, Powertools' flush, and
# the last wait of a payload read (PAYLOAD_WAIT_SECONDS) that began just before the deadline.
MARGIN_SECONDS: Final = 2.5
# The longest wait for the payload's next bytes: S3 streams without pauses; a stall is a failure.
PAYLOAD_WAIT_SECONDS: Final = 2.0
FETCH_CHUNK_BYTES: Final = 64 * 1024
# What IAM said of a profile that holds a role is remembered this long in a warm container (see RecentIam).
REMEMBER_SECONDS: Final = 60.0
REMEMBERED_PROFILES: Final = 4096
_NO_SUCH_ENTITY: Final = "NoSuchEntity"
# IAM's answers worth another attempt within the deadline (botocore's standard mode retries the same).
_TRANSIENT: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ServiceFailure",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class Deadline:
    """When this invocation must have answered: the Lambda context's remaining time less a margin. Every
    IAM call and the fetch ask it first; past it they raise GuardUnavailable (cause "deadline")."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ends = clock() + seconds - MARGIN_SECONDS

    @classmethod
    def of(cls, context: object, fallback_seconds: float = 25.0) -> Deadline:
        """From context.get_remaining_time_in_millis() (a stand-in context without it: the fallback)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        millis = remaining() if callable(remaining) else None
        return cls(millis / 1000 if isinstance(millis, (int, float)) else fallback_seconds)

    def left(self) -> float:
        return self.ends - self.clock()

    def check(self, needs: float, doing: str) -> None:
        """Raise unless `needs` seconds are left for `doing`."""
        if self.left() < needs:
            raise GuardUnavailable(
                f"The ProfileExpand guard ran out of time ({doing}): it answers before its own deadline "
                "rather than let the hook time out.",
                f"deadline ({doing})",
            )


class BotoIam:
    """account.Iam over a boto3 IAM client (GetInstanceProfile, GetRole: read-only), within a Deadline."""

    def __init__(
        self, client: Any, deadline: Deadline | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.deadline = deadline or Deadline(3600.0)
        self.sleep = sleep

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
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # Started only when it can end (answered or timed out) before the deadline.
            self.deadline.check(ATTEMPT_SECONDS, operation)
            try:
                answer: Mapping[str, Any] = method(**arguments)
                return answer
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "unknown"))
                if code == _NO_SUCH_ENTITY:
                    return None
                if code not in _TRANSIENT or attempt == MAX_ATTEMPTS:
                    # AccessDenied, Throttling ...: the guard's own trouble, never the template's.
                    raise GuardUnavailable(
                        f"The ProfileExpand guard could not ask IAM ({operation} {name!r}: {code}); "
                        "see the guard function's log and its role's permissions.",
                        f"{operation}: {code}",
                    ) from None
            except (ReadTimeoutError, ConnectionError) as error:
                if attempt == MAX_ATTEMPTS:
                    raise _unreachable(operation, name, error) from None
            except BotoCoreError as error:
                raise _unreachable(operation, name, error) from None
            # Jittered backoff, as botocore's standard mode: 0.1-0.2 s, then 0.2-0.4 s.
            backoff = 0.1 * 2 ** (attempt - 1) * (1 + random.random())
            self.sleep(max(0.0, min(self.deadline.left(), backoff)))
        raise AssertionError("unreachable")  # pragma: no cover


def _unreachable(operation: str, name: str, error: Exception) -> GuardUnavailable:
    kind = type(error).__name__
    return GuardUnavailable(
        f"The ProfileExpand guard could not reach IAM ({operation} {name!r}: {kind}).", f"{operation}: {kind}"
    )


def _role(role: Mapping[str, Any]) -> RoleFacts:
    return RoleFacts(role["RoleName"], role.get("Path", "/"), role.get("AssumeRolePolicyDocument"))


class RecentIam:
    """account.Iam that remembers, for REMEMBER_SECONDS, each profile IAM showed holding a role: a stack's
    resources are separate invocations, often naming one profile, and land in the same warm containers.

    Only what cannot block remembers: a missing profile, a profile without a role and GetRole are always
    asked (IAM may be late), and the hook forgets a remembered profile before it blames a template with it
    (hook.Remembers), so a stale answer can at worst let a stack pass for a minute, never fail it.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.iam: Iam | None = None
        self.remembered: dict[str, tuple[float, ProfileFacts]] = {}
        self.calls = 0  # questions this invocation sent to IAM (what memory answered is not counted)

    def asking(self, iam: Iam) -> RecentIam:
        """This memory, asking `iam` (this invocation's client and deadline) for what it does not hold."""
        self.iam = iam
        self.calls = 0
        return self

    def instance_profile(self, name: str) -> ProfileFacts | None:
        held = self.remembered.get(name)
        if held is not None and self.clock() - held[0] < REMEMBER_SECONDS:
            return held[1]
        assert self.iam is not None, "RecentIam.asking(iam) first"
        self.calls += 1
        profile = self.iam.instance_profile(name)
        self.remembered.pop(name, None)
        if profile is not None and profile.roles:
            if len(self.remembered) >= REMEMBERED_PROFILES:
                self.remembered.pop(next(iter(self.remembered)))
            self.remembered[name] = (self.clock(), profile)
        return profile

    def role(self, name: str) -> RoleFacts | None:
        assert self.iam is not None, "RecentIam.asking(iam) first"
        self.calls += 1
        return self.iam.role(name)

    def forget(self, name: str) -> bool:
        return self.remembered.pop(name, None) is not None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A presigned URL answers itself: a redirect could lead anywhere, so none is followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_payload(url: str, deadline: Deadline | None = None) -> bytes:
    """GET a hook payload from its presigned https S3 URL (refused without a request otherwise)."""
    if not is_payload_url(url):
        raise GuardUnavailable(
            "The ProfileExpand guard refused a payload URL that is not https:// Amazon S3.",
            "payload URL refused",
        )
    return read_url(url, deadline or Deadline(3600.0))


def read_url(url: str, deadline: Deadline) -> bytes:
    """The body at `url`, read a chunk at a time within the deadline and MAX_PAYLOAD_BYTES. Errors never
    carry the URL (a presigned URL's query holds its security token and signature)."""
    deadline.check(0.0, "payload")
    # Built per fetch, not at import: its HTTPS handler loads the CA certificates (tens of ms of cold
    # start), and only STACK and CHANGE_SET targets fetch anything.
    opener = urllib.request.build_opener(_NoRedirects())
    chunks: list[bytes] = []
    size = 0
    try:
        # The socket timeout bounds each wait; the deadline bounds them all (a trickle of bytes).
        wait = max(0.1, min(PAYLOAD_WAIT_SECONDS, deadline.left()))
        with opener.open(url, timeout=wait) as answer:
            while True:
                deadline.check(0.0, "payload")
                chunk: bytes = answer.read1(FETCH_CHUNK_BYTES)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_PAYLOAD_BYTES:
                    raise GuardUnavailable(
                        f"The hook's payload is larger than {MAX_PAYLOAD_BYTES} bytes.", "payload too large"
                    )
                chunks.append(chunk)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        raise GuardUnavailable(
            f"The ProfileExpand guard could not read the hook's payload ({type(error).__name__}).",
            f"payload: {type(error).__name__}",
        ) from None
    return b"".join(chunks)
