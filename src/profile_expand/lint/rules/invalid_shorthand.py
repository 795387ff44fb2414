"""E9002: IamRole shorthand that the ProfileExpand macro would reject, in the macro's own words."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class InvalidShorthand(_support.Rule):
    """The errors of the same expansion as the macro, for templates with Transform: ProfileExpand."""

    id = "E9002"
    shortdesc = "IamRole shorthand the ProfileExpand transform rejects"
    description = (
        "For a template with Transform: ProfileExpand, runs the same expansion as the macro and reports "
        "every problem that would make the deployment fail (an IamRole that names no role, IamRole beside "
        "the profile property, a generated logical ID that is taken, ...), with the macro's message."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamRole: AppRol  # no such role"
    example_right = "IamRole: AppRole"
