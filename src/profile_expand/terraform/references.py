"""What a Terraform expression written at a site names: one role, with the index written after it.

Read from the text as written (through locals that are plain references), so that --fix rewrites the
site in place and a finding quotes the site's own expression and keeps its index on the profile to write.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from profile_expand.terraform.hcl import Block, Traversal
from profile_expand.terraform.translate import Translation

# A reference to one role: aws_iam_role.x.name, data.aws_iam_role.x.arn, aws_iam_role.x[count.index].id ...
_ROLE_REFERENCE: Final = re.compile(
    r"\A(?P<role>(?:data\.)?aws_iam_role\.[A-Za-z_][\w-]*)"
    r"(?:\[(?P<index>[^\[\]]+)\])?\.(?P<attribute>name|id|arn|unique_id)\Z"
)
_LOCAL: Final = re.compile(r"\Alocal\.([A-Za-z_][\w-]*)\Z")
_LOCAL_DEPTH: Final = 8
SPACE: Final = re.compile(r"\s+")


class RoleTarget(NamedTuple):
    """The role a site names, read from what was written there."""

    role: str  # its address: aws_iam_role.x or data.aws_iam_role.x
    at: str | None  # the index written after it ([0], [count.index], ["k"], [each.key]), without brackets


def role_target(written: str, translation: Translation) -> RoleTarget | None:
    """The role a written value names: itself, or through locals that are plain references."""
    for _ in range(_LOCAL_DEPTH):
        local = _LOCAL.match(written)
        if local is None:
            break
        value = translation.locals.get(local[1])
        if not isinstance(value, Traversal):
            return None
        written = value.text.strip()
    match = _ROLE_REFERENCE.match(SPACE.sub("", written))
    if match is None:
        return None
    return RoleTarget(match["role"], match["index"])


def role_block(role: str, translation: Translation) -> Block | None:
    """The block declaring a role of the module (a resource, or a data source), if any."""
    found = translation.data.get(role) if role.startswith("data.") else translation.resources.get(role)
    return None if found is None else found[1]


def counted_by(block: Block | None) -> str | None:
    """ "count" or "for_each" where the block has one."""
    if block is None:
        return None
    return next((key for key in ("count", "for_each") if key in block.body.attributes), None)
