"""Did you mean: the template role ID closest to a misspelt one, in time linear in the number of roles."""

import bisect
from typing import Final

from profile_expand.core import cfn
from profile_expand.core.index import TemplateIndex
from profile_expand.core.text import close_matches

_TYPO_CUTOFF: Final = 0.85
_DIFFLIB_LENGTH: Final = 64  # longer typos get a suggestion only when their start and end prove it


def suggest_role_id(text: str, index: TemplateIndex) -> str | None:
    """The template role ID a typo most likely means, or None: "did you mean" in the messages."""
    if len(text) > cfn.MAX_LOGICAL_ID:  # no logical ID is that long; and difflib would take its time
        return None
    folded = index.folded_role_ids.get(text.lower())
    if folded is not None:
        return folded
    # A typo keeps most of the ID's start or most of its end: the closest match is one of the IDs next
    # to it in sorted order, or next to it when the IDs are read backwards. Four comparisons per typo,
    # not one per role (difflib on 120-character IDs of 500 resources took minutes).
    backwards = (role[::-1] for role in _neighbours(text[::-1], index.reversed_role_ids))
    candidates = sorted({*_neighbours(text, index.role_ids), *backwards})
    if not candidates:
        return None
    # What the typo leaves of a candidate's start and end already proves it close (difflib's ratio is
    # at least that share), in time linear in the ID; difflib, quadratic in it, judges short IDs only.
    kept, best = max((_kept(text, candidate), candidate) for candidate in candidates)
    if 2 * kept / (len(text) + len(best)) >= _TYPO_CUTOFF:
        return best
    if len(text) > _DIFFLIB_LENGTH:
        return None
    close = close_matches(text, candidates, _TYPO_CUTOFF)
    return close[0] if close else None


def _kept(first: str, second: str) -> int:
    """How many characters two strings share at their start and end (not counting one twice)."""
    shortest = min(len(first), len(second))
    start = _common_start(first, second)
    end = _common_start(first[::-1], second[::-1])
    return min(start + end, shortest)


def _common_start(first: str, second: str) -> int:
    """The length of the longest common start: a binary search of slice comparisons (done in C)."""
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


# Of all IDs, the one sharing the longest start with `text` is next to it in sorted order.
_NEIGHBOURS: Final = 1


def _neighbours(text: str, ordered: tuple[str, ...]) -> tuple[str, ...]:
    """The IDs on either side of where `text` sorts in `ordered`."""
    position = bisect.bisect_left(ordered, text)
    return ordered[max(0, position - _NEIGHBOURS) : position + _NEIGHBOURS]
