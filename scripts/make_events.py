"""Write events/*.json: one CloudFormation macro event per site, from tests/golden/input/site_<slug>.yaml.

Also a failure example (a typo of a role's logical ID), a malformed event (no fragment), and the largest
event: a generated template of 500 resources after expansion and about 1 MiB (bench/generators.py, so the
same every time), which runs the macro at CloudFormation's limits on the runtime.
Usable as `sam local invoke -e events/<slug>.json`. Run `python scripts/make_events.py`, review the diff.
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bench package, when run as `python scripts/make_events.py`

from bench.generators import MAX_RESOURCES, MAX_TEMPLATE_BYTES, generate_sized_template  # noqa: E402
from bench.sam_local import macro_events  # noqa: E402

from profile_expand.core.sites import SITES  # noqa: E402

GOLDEN_INPUT = ROOT / "tests" / "golden" / "input"
EVENTS = ROOT / "events"

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
MACRO_NAME = "ProfileExpand"
# Stable request IDs, so regenerating gives byte-identical files.
_NAMESPACE = uuid.UUID("6f1c7d2e-4b9a-4e53-9a51-0c5e8f1d2a77")


def _plain(value: Any) -> Any:
    # cfn-lint's decoder gives dict/str subclasses carrying positions; JSON round-trip makes them plain.
    return json.loads(json.dumps(value))


def _load(path: Path) -> dict[str, Any]:
    template = _plain(cfn_yaml.loads(path.read_text(encoding="utf-8"), str(path)))
    if not isinstance(template, dict):
        raise SystemExit(f"{path}: not a template mapping")
    return template


# Values CloudFormation would have evaluated for parameters without a Default (dummy account resources).
_PLACEHOLDERS_BY_TYPE = {
    "AWS::EC2::Subnet::Id": "subnet-0123456789abcdef0",
    "AWS::EC2::SecurityGroup::Id": "sg-0123456789abcdef0",
    "AWS::EC2::VPC::Id": "vpc-0123456789abcdef0",
}


def _parameter_value(name: str, spec: dict[str, Any]) -> Any:
    if "Default" in spec:
        return spec["Default"]
    kind = str(spec.get("Type", "String"))
    if kind in _PLACEHOLDERS_BY_TYPE:
        return _PLACEHOLDERS_BY_TYPE[kind]
    if kind.startswith("List<") and kind[5:-1] in _PLACEHOLDERS_BY_TYPE:
        return [_PLACEHOLDERS_BY_TYPE[kind[5:-1]]]
    if name.endswith("RoleArn"):
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{name.removesuffix('Arn')}"
    return f"example-{name[0].lower()}{name[1:]}"


def macro_event(name: str, template: dict[str, Any]) -> dict[str, Any]:
    """The event CloudFormation sends for a template-level `Transform: ProfileExpand`.

    The fragment is the whole template without its Transform section; templateParameterValues holds the
    evaluated parameters (defaults, or placeholders for the dummy account 123456789012).
    """
    fragment = {key: value for key, value in template.items() if key != "Transform"}
    parameters = template.get("Parameters", {})
    return {
        "region": REGION,
        "accountId": ACCOUNT_ID,
        "fragment": fragment,
        "transformId": f"{ACCOUNT_ID}::{MACRO_NAME}",
        "params": {},
        "requestId": str(uuid.uuid5(_NAMESPACE, name)),
        "templateParameterValues": {
            key: _parameter_value(key, spec) for key, spec in parameters.items() if isinstance(spec, dict)
        },
    }


def build_events() -> dict[str, dict[str, Any]]:
    """File name -> event, for every site of the table plus the failure and malformed examples."""
    events: dict[str, dict[str, Any]] = {}
    for site in SITES:
        events[f"{site.slug}.json"] = macro_event(site.slug, _load(GOLDEN_INPUT / f"site_{site.slug}.yaml"))

    # The EC2 instance case with IamRole naming a role that does not exist, one letter off AppRole.
    typo = copy.deepcopy(_load(GOLDEN_INPUT / "site_ec2_instance.yaml"))
    typo["Resources"]["Web"]["Properties"]["IamRole"] = "AppRle"
    events["failure_typo_role.json"] = macro_event("failure_typo_role", typo)

    large = generate_sized_template(MAX_TEMPLATE_BYTES, MAX_RESOURCES)
    events["large_500_resources.json"] = macro_event("large_500_resources", large)

    malformed = macro_event("malformed_no_fragment", {})
    del malformed["fragment"]
    events["malformed_no_fragment.json"] = malformed
    return events


def render(event: dict[str, Any]) -> str:
    """Indented JSON, except for a large event: compact, so the file is about the size CloudFormation sends."""
    compact = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if len(compact) > 256 * 1024:
        return compact + "\n"
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    EVENTS.mkdir(exist_ok=True)
    events = build_events()
    # The guard's hook events (hook_*.json) are fixtures of their own, never stale macro events.
    for stale in sorted(set(p.name for p in macro_events()) - set(events)):
        (EVENTS / stale).unlink()
        print(f"removed events/{stale}")
    for name, event in events.items():
        (EVENTS / name).write_text(render(event), encoding="utf-8")
    print(f"wrote {len(events)} events to events/; review the diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
