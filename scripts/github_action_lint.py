"""The GitHub Action's lint step (action.yml): `profile-expand lint` on the templates a workflow names.

Writes SARIF for code scanning, prints each finding as a workflow annotation, and sets the step outputs
`sarif-file`, `exit-code` and `findings`. Inputs come from the environment (INPUT_TEMPLATES: paths or
globs separated by whitespace; INPUT_SARIF_FILE; INPUT_FAIL_ON: error, warning, informational or none),
so that no workflow text is ever pasted into a shell command. It always exits 0 once the SARIF file is
written: the action fails in a later step, after the SARIF upload has had its chance.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

FAIL_ON = ("error", "warning", "informational", "none")
# SARIF levels to workflow-command annotation kinds.
ANNOTATION = {"error": "error", "warning": "warning", "note": "notice", "none": "notice"}


def main() -> int:
    patterns = os.environ.get("INPUT_TEMPLATES", "").split()
    sarif_file = Path(os.environ.get("INPUT_SARIF_FILE") or "profile-expand.sarif")
    fail_on = os.environ.get("INPUT_FAIL_ON") or "error"
    if fail_on not in FAIL_ON:
        return _usage(f"fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    if not patterns:
        return _usage("the `templates` input is empty: name template files or globs (templates/**/*.yaml)")
    templates: list[str] = []
    for pattern in patterns:
        matched = sorted(glob.glob(pattern, recursive=True))
        if not matched:
            return _usage(f"{pattern!r} matched no file (relative to {Path.cwd()})")
        templates.extend(m for m in matched if m not in templates)
    command = [
        "profile-expand",
        "lint",
        *templates,
        "--format",
        "sarif",
        "--output-file",
        str(sarif_file),
        "--non-zero-exit-code",
        fail_on,
    ]
    print("+ " + shlex.join(command), flush=True)
    lint = subprocess.run(command, check=False, capture_output=True, text=True)
    sys.stdout.write(lint.stdout)
    sys.stdout.write(lint.stderr)
    code = lint.returncode
    if not sarif_file.is_file():
        return _usage(f"profile-expand lint wrote no SARIF (exit code {code}); see its messages above")
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    results = _results(sarif)
    for result in results:
        print(_annotation(result))
    print(f"{len(results)} finding(s) in {len(templates)} template(s); SARIF: {sarif_file}")
    _outputs({"sarif-file": str(sarif_file), "exit-code": str(code), "findings": str(len(results))})
    return 0


def _results(sarif: Any) -> list[dict[str, Any]]:
    return [result for run in sarif.get("runs", []) for result in run.get("results", [])]


def _annotation(result: dict[str, Any]) -> str:
    kind = ANNOTATION.get(result.get("level", "warning"), "warning")
    properties = {"title": str(result.get("ruleId", "profile-expand"))}
    locations = result.get("locations") or [{}]
    physical = locations[0].get("physicalLocation", {})
    uri = physical.get("artifactLocation", {}).get("uri")
    region = physical.get("region", {})
    if uri:
        properties = {"file": uri, **properties}
        for key, name in (("startLine", "line"), ("startColumn", "col"), ("endLine", "endLine")):
            if key in region:
                properties[name] = str(region[key])
    text = ",".join(f"{key}={_escape(value, property_value=True)}" for key, value in properties.items())
    message = result.get("message", {}).get("text", "")
    return f"::{kind} {text}::{_escape(message)}"


def _escape(value: str, *, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping (properties also escape ':' and ',')."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _outputs(values: dict[str, str]) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for key, value in values.items():
            out.write(f"{key}={value}\n")


def _usage(message: str) -> int:
    print(f"::error title=profile-expand action::{_escape(message)}")
    print(f"profile-expand action: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
