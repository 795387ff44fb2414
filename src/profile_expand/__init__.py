"""ProfileExpand: write `IamRole` wherever EC2 expects an instance profile; get the profile generated."""

from __future__ import annotations

from profile_expand.core import Expansion, expand, expand_with_report
from profile_expand.errors import (
    InvalidEventError,
    InvalidTemplateError,
    ProfileExpandError,
    TemplateError,
    TemplateWarning,
)

__version__ = "0.1.0"

__all__ = [
    "Expansion",
    "InvalidEventError",
    "InvalidTemplateError",
    "ProfileExpandError",
    "TemplateError",
    "TemplateWarning",
    "__version__",
    "expand",
    "expand_with_report",
]
