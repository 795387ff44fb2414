"""W9001: IamRole shorthand in a template whose Transform does not list ProfileExpand."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ShorthandWithoutTransform(_support.Rule):
    """IamRole only means something to the ProfileExpand macro; without it CloudFormation rejects it."""

    id = "W9001"
    shortdesc = "IamRole shorthand without Transform: ProfileExpand"
    description = (
        "IamRole written where an instance profile is expected is the ProfileExpand shorthand. Without "
        "ProfileExpand in the template's Transform, CloudFormation receives IamRole as written and the "
        "deployment fails. Add the transform, or write the instance profile property."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamRole: !Ref AppRole  # Transform does not list ProfileExpand"
    example_right = "Transform: ProfileExpand"
