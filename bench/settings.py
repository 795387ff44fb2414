"""What the benchmark measures against: the paths, the targets, and the function's settings in template.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import profile_expand

ROOT = Path(__file__).resolve().parent.parent
HANDLER_MODULE = "profile_expand.macro.handler"
# The package as imported (the editable install of this checkout, or whatever PYTHONPATH puts first):
# all of it is the macro's code (the handler imports core/), not only the handler's subpackage.
PACKAGE_DIR = Path(profile_expand.__file__).resolve().parent
HANDLER_SOURCE = PACKAGE_DIR / "macro" / "handler.py"
SAM_TEMPLATE = ROOT / "template.yaml"
RESULTS = ROOT / "bench" / "results.md"
# Targets of issue 4.
RATIO_TARGET = 1.0
# Issue 17: each adversarial shape at the 1 MB limit at most twice the JSON round trip of itself.
ADVERSARIAL_RATIO_TARGET = 2.0
IMPORT_BUDGET_MS = 15.0
# "Well under the function's memory setting", read here as at most half of MemorySize.
MEMORY_SHARE = 0.5


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads template.yaml: short-form intrinsics (!Sub, !GetAtt ...) load as None; only plain keys matter."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _function_setting(template_text: str, name: str, default: Any) -> Any:
    """A property of the macro's function in a SAM template: its own, else Globals, else `default`."""
    template = yaml.load(template_text, Loader=_CloudFormationLoader)
    functions = [
        resource.get("Properties") or {}
        for resource in (template.get("Resources") or {}).values()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    ]
    handler = [p for p in functions if p.get("Handler") == f"{HANDLER_MODULE}.lambda_handler"]
    if len(handler) != 1:
        raise ValueError(f"expected one function with handler {HANDLER_MODULE}.lambda_handler")
    globals_ = ((template.get("Globals") or {}).get("Function") or {}).get(name, default)
    return handler[0].get(name, globals_)


def memory_size_mb(template_text: str) -> int:
    """MemorySize of the macro's function in a SAM template (its Globals, else SAM's default of 128)."""
    return int(_function_setting(template_text, "MemorySize", 128))


def runtime_version(template_text: str) -> str:
    """The Python version ("3.13") of the macro function's Runtime ("python3.13") in a SAM template."""
    runtime = _function_setting(template_text, "Runtime", None)
    match = re.fullmatch(r"python(3\.\d+)", str(runtime))
    if not match:
        raise ValueError(f"the macro function's Runtime is {runtime!r}, not a pythonX.Y runtime")
    return match.group(1)
