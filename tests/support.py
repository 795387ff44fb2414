"""Helpers shared by the test tiers: loading templates the way CloudFormation reads them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

TESTS = Path(__file__).parent
ROOT = TESTS.parent
GOLDEN = TESTS / "golden"
GOLDEN_INPUT = GOLDEN / "input"
GOLDEN_OUTPUT = GOLDEN / "output"
CORPUS = ROOT.parent / "shared" / "corpus"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def load_template(path: Path) -> Any:
    """YAML (short-form tags) or JSON -> plain dicts and lists, as the macro receives the fragment."""
    decoded, matches = decode_str(path.read_text())
    if matches:
        raise ValueError(f"{path}: {[str(match) for match in matches]}")
    return json.loads(json.dumps(decoded))


def golden_cases() -> list[str]:
    return sorted(path.stem for path in GOLDEN_INPUT.glob("*.yaml"))


def dump_json(value: Any) -> str:
    """The one JSON layout used for golden files."""
    return json.dumps(value, indent=2) + "\n"


@dataclass(frozen=True)
class FakeLambdaContext:
    """The one stand-in for a Lambda context: the attributes Powertools' Logger reads."""

    function_name: str = "ProfileExpand"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ProfileExpand"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/ProfileExpand"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"


def macro_event(fragment: Any, request_id: str = "req-0001", **extra: Any) -> dict[str, Any]:
    """A CloudFormation macro event as the service sends it (template-level transform)."""
    event: dict[str, Any] = {
        "region": REGION,
        "accountId": ACCOUNT,
        "fragment": fragment,
        "transformId": f"{ACCOUNT}::ProfileExpand",
        "params": {},
        "requestId": request_id,
        "templateParameterValues": {},
    }
    event.update(extra)
    return event


def fake_context_source() -> str:
    """Python source that builds the same fake context in a subprocess that cannot import the tests."""
    return f"import types\ncontext = types.SimpleNamespace(**{asdict(FakeLambdaContext())!r})\n"


def write_file(folder: Path, name: str, text: str) -> Path:
    """A UTF-8 file `name` in `folder` holding `text`."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of `text` containing `needle`."""
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def log_to_current_stdout(logger_name: str, monkeypatch: Any) -> None:
    """Point a logger's stream handlers at the current sys.stdout (capsys's). A Powertools Logger keeps
    the stdout of the moment its module was first imported, which may be another test's capture."""
    import logging
    import sys

    for handler in logging.getLogger(logger_name).handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", sys.stdout)


# What `make` passes to the commands it runs: `make test` runs the tests, whose commands would then
# print make[1]: Entering/Leaving directory lines that a user at a shell never sees.
_MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")


def shell_environment(**extra: str) -> dict[str, str]:
    """The environment a user at a shell has: this one, less what an enclosing `make` added."""
    return {**{k: v for k, v in os.environ.items() if k not in _MAKE_VARIABLES}, **extra}
