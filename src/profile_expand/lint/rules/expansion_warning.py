"""W9002: what the ProfileExpand macro would warn about, such as a role it rewrites to a profile."""

from __future__ import annotations

from profile_expand.lint.rules import _support


class ExpansionWarning(_support.Rule):
    """The warnings of the same expansion as the macro, for templates with Transform: ProfileExpand."""

    id = "W9002"
    shortdesc = "The ProfileExpand transform would warn"
    description = (
        "For a template with Transform: ProfileExpand, reports the warnings of the same expansion as the "
        "macro: a profile property pointing at a role of the template (the macro rewrites it as if it were "
        "IamRole; write IamRole to make this explicit), the certain mistakes it corrects (a profile of the "
        "template in the wrong form, a role of the template by ARN in a profile's Roles, a literal profile "
        "ARN where only the name is taken), a role name the service will not accept, ..."
    )
    source_url = _support.SOURCE_URL
    tags = ["resources", "iam", "transform", "profile-expand"]  # noqa: RUF012 (cfn-lint convention)
    # The README's table of rules shows these; the lint fixtures hold them in full templates.
    example_wrong = "IamInstanceProfile: !GetAtt AppProfile.Arn  # the macro writes !Ref AppProfile"
    example_right = "IamInstanceProfile: !Ref AppProfile"
