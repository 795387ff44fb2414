"""ProfileExpand: write `IamRole` wherever EC2 expects an instance profile; get the profile generated."""

from __future__ import annotations

from profile_expand.core.errors import (
    InvalidEventError,
    InvalidTemplateError,
    ProfileExpandError,
    TemplateError,
    TemplateWarning,
)
from profile_expand.core.pipeline import Expansion, expand, expand_with_report

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
