"""Text helpers shared by the core's messages and identities: quoting values, stems and digests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

_QUOTE_LIMIT: Final = 160

Path = tuple[str | int, ...]


def digest(text: str) -> str:
    """Eight hex characters naming `text` stably across runs and releases."""
    import hashlib  # imported on first use: OpenSSL's import is a measurable part of a cold start

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def close_matches(word: str, candidates: list[str] | tuple[str, ...], cutoff: float) -> list[str]:
    import difflib  # only error messages need it: kept out of the Lambda's cold start

    return difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)


def short(name: object, limit: int = 80) -> str:
    """An identifier for a message, cut short: logical IDs are at most 255 characters, input may not be."""
    text = str(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote(value: object) -> str:
    """A short JSON rendering of a user's value for messages; never fails, even on deep nesting."""
    text = _render(value, depth=0)
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 3] + "..."


def _render(value: object, depth: int) -> str:
    if depth > 4:
        return "..."
    if isinstance(value, dict):
        items = list(value.items())[:4]
        body = ", ".join(f"{json.dumps(str(k))}: {_render(v, depth + 1)}" for k, v in items)
        return "{" + body + (", ..." if len(value) > 4 else "") + "}"
    if isinstance(value, list):
        body = ", ".join(_render(v, depth + 1) for v in value[:4])
        return "[" + body + (", ..." if len(value) > 4 else "") + "]"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= _QUOTE_LIMIT else value[:_QUOTE_LIMIT])
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return repr(type(value).__name__)


def canonical(value: object) -> str:
    """Stable text of a JSON value, for identity; raises ValueError when it has no such text."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, RecursionError) as error:
        raise ValueError("not a plain JSON value") from error


def stem_of_value(value: object) -> str:
    """stem() of a literal, or of an intrinsic's arguments without the function names."""
    if isinstance(value, str):
        return stem(value)
    return stem(re.sub(r"Fn::\w+|\bRef\b", "", canonical(value)))


def stem(text: str, limit: int = 48) -> str:
    """A readable logical-ID start from arbitrary text: "ops-instance-role" -> "OpsInstanceRole"."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "".join(word[:1].upper() + word[1:] for word in words)[:limit] or "Role"


def unknown_keys_message(unknown: list[Any], known: tuple[str, ...], what: str) -> str:
    """ "Foo is not a key of X (did you mean Bar?); X takes A, B, C." """
    parts = []
    for key in unknown:
        close = close_matches(str(key), known, 0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        parts.append(f"{quote(key)}{hint}")
    extra = ""
    if "AssumeRolePolicyDocument" in unknown:
        extra = (
            " An inline role always trusts EC2; for another trust policy, define an AWS::IAM::Role resource."
        )
    return f"{', '.join(parts)} is not a key of {what}, which takes {', '.join(known)}.{extra}"


def format_path(path: Iterable[str | int]) -> str:
    """("Properties", "Specs", 0, "IamRole") -> "Properties.Specs[0].IamRole"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
