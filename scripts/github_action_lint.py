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
import re
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
    sys.stdout.write(lint.stderr)  # which transforms it applied, and the macro's own messages
    code = lint.returncode
    if not sarif_file.is_file():
        return _usage(f"profile-expand lint wrote no SARIF (exit code {code}); see its messages above")
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    # The macro's own errors and warnings (a template it rejects is not linted further) are printed as
    # TEMPLATE:LINE:COLUMN: message, not as cfn-lint findings: carry them into the report as E9002/W9002.
    if _add_macro_messages(sarif, lint.stderr, templates):
        sarif_file.write_text(json.dumps(sarif, indent=2) + "\n", encoding="utf-8")
    results = _results(sarif)
    for result in results:
        print(_annotation(result))
    print(f"{len(results)} finding(s) in {len(templates)} template(s); SARIF: {sarif_file}")
    _outputs({"sarif-file": str(sarif_file), "exit-code": str(code), "findings": str(len(results))})
    return 0


_MESSAGE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<warning>warning: )?(?P<text>.+)$")
_MACRO_RULES = {
    "E9002": ("error", "The ProfileExpand macro rejects this template (its own words)."),
    "W9002": ("warning", "The ProfileExpand macro would warn about this template (its own words)."),
}


def _add_macro_messages(sarif: Any, stderr: str, templates: list[str]) -> int:
    """Add each `file:line:col: message` line about a linted template to the SARIF run; how many added."""
    runs = sarif.get("runs") or []
    if not runs:
        return 0
    run = runs[0]
    results = run.setdefault("results", [])
    seen = {(_uri(r), _line(r), r.get("ruleId"), r.get("message", {}).get("text")) for r in results}
    added = 0
    for line in stderr.splitlines():
        found = _MESSAGE.match(line)
        if not found or found["file"] not in templates:
            continue
        rule = "W9002" if found["warning"] else "E9002"
        key = (found["file"], int(found["line"]), rule, found["text"])
        if key in seen:
            continue
        seen.add(key)
        results.append(
            {
                "ruleId": rule,
                "level": _MACRO_RULES[rule][0],
                "message": {"text": found["text"]},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": found["file"], "uriBaseId": "EXECUTIONROOT"},
                            "region": {"startLine": int(found["line"]), "startColumn": int(found["column"])},
                        }
                    }
                ],
            }
        )
        added += 1
    if added:
        rules = run.setdefault("tool", {}).setdefault("driver", {}).setdefault("rules", [])
        known = {r.get("id") for r in rules}
        for rule, (_, text) in _MACRO_RULES.items():
            if rule not in known:
                rules.append({"id": rule, "shortDescription": {"text": text}})
    return added


def _uri(result: dict[str, Any]) -> str | None:
    locations = result.get("locations") or [{}]
    uri: str | None = locations[0].get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
    return uri


def _line(result: dict[str, Any]) -> int | None:
    locations = result.get("locations") or [{}]
    line: int | None = locations[0].get("physicalLocation", {}).get("region", {}).get("startLine")
    return line


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
