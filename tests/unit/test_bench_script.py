"""The benchmark's template generators, run small: they must build templates the core really expands.

A benchmark of a template the core rejects (or only half expands) would time an error path.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from profile_expand import expand
from profile_expand.sites import sites_for

BENCH_PATH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", BENCH_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _profile_of(reference: Any, resources: dict[str, Any]) -> dict[str, Any]:
    """The generated resource a rewritten site points at, in any of the forms the sites write."""
    if isinstance(reference, dict) and set(reference) == {"Arn"}:
        reference = reference["Arn"]
    if "Ref" in reference:
        return resources[reference["Ref"]]
    logical_id, attribute = reference["Fn::GetAtt"]
    assert attribute == "Arn"
    return resources[logical_id]


def _site_values(resource: dict[str, Any]) -> list[tuple[str, Any]]:
    """(profile property, value) of every site of the resource that holds a value."""
    found = []
    for site in sites_for(resource["Type"]):
        node: Any = resource
        for step in site.container:
            node = node.get(step, {}) if isinstance(node, dict) else {}
        for key in ("IamRole", site.profile_property):
            if key in node:
                found.append((key, node[key]))
    return found


@pytest.mark.parametrize("size", [7, 10, 23])
def test_generated_template_expands_to_exactly_the_requested_size(bench: ModuleType, size: int) -> None:
    template = bench.generate_template(size)
    before = copy.deepcopy(template)

    result = expand(template)

    assert template == before
    resources = result["Resources"]
    assert len(resources) == size
    kinds = Counter(resource["Type"] for resource in resources.values())
    assert kinds["AWS::IAM::InstanceProfile"] == kinds["AWS::IAM::Role"] >= 1
    for logical_id, resource in resources.items():
        for key, value in _site_values(resource):
            assert key != "IamRole", f"{logical_id} kept IamRole"
            profile = _profile_of(value, resources)
            assert profile["Type"] == "AWS::IAM::InstanceProfile", logical_id
            (role,) = profile["Properties"]["Roles"]
            assert resources[role["Ref"]]["Type"] == "AWS::IAM::Role"


def test_generated_template_mixes_sites_and_unrelated_resources(bench: ModuleType) -> None:
    template = bench.generate_template(21)

    kinds = Counter(resource["Type"] for resource in template["Resources"].values())

    assert kinds["AWS::IAM::Role"] == 3
    for kind in (
        "AWS::EC2::Instance",
        "AWS::EC2::LaunchTemplate",
        "AWS::Batch::ComputeEnvironment",
        "AWS::S3::Bucket",
        "AWS::EC2::SecurityGroup",
    ):
        assert kinds[kind] == 3, kind
    # The three sites of a group name their role in three different value forms.
    forms = {json.dumps(value) for r in template["Resources"].values() for _, value in _site_values(r)}
    assert {'{"Ref": "Role0"}', '{"Fn::GetAtt": ["Role0", "Arn"]}', '"Role0"'} <= forms


def test_payload_grows_the_template_without_adding_resources(bench: ModuleType) -> None:
    small = bench.generate_template(14)
    large = bench.generate_template(14, payload=40)

    assert len(expand(large)["Resources"]) == 14
    assert bench.compact_size(large) > 2 * bench.compact_size(small)


def test_sized_template_fills_but_does_not_exceed_the_byte_target(bench: ModuleType) -> None:
    target = 40_000

    template = bench.generate_sized_template(target, resources=20)

    result = expand(template)
    assert len(result["Resources"]) == 20
    assert bench.compact_size(result) <= target
    # One more payload step would not fit: the generator found the largest template, not any template.
    bigger = bench.generate_template(20, payload=_payload_of(template) + 1)
    assert bench.compact_size(expand(bigger)) > target


def _payload_of(template: dict[str, Any]) -> int:
    script = template["Resources"]["Web0"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    return sum(1 for line in script.splitlines() if line.startswith('echo "step'))


def test_check_expansion_refuses_a_template_that_is_not_expanded_as_promised(bench: ModuleType) -> None:
    template = bench.generate_template(10)

    bench.check_expansion(template, 10)
    with pytest.raises(SystemExit, match="expected 11 resources"):
        bench.check_expansion(template, 11)


def test_memory_size_is_read_from_the_function_with_short_form_intrinsics(bench: ModuleType) -> None:
    template = """
Globals:
  Function:
    MemorySize: 512
Resources:
  Other:
    Type: AWS::Serverless::Function
    Properties: {Handler: other.handler, MemorySize: 1024}
  Macro:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub ${MacroName}-macro
      Role: !GetAtt Role.Arn
      Handler: profile_expand.handler.lambda_handler
"""
    assert bench.memory_size_mb(template) == 512
    assert (
        bench.memory_size_mb(template.replace("lambda_handler", "lambda_handler\n      MemorySize: 256"))
        == 256
    )


def test_the_handler_powertools_imports_are_found_outside_type_checking(bench: ModuleType) -> None:
    source = """
from typing import TYPE_CHECKING
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
import json
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
"""
    assert bench.powertools_imports(source) == ["aws_lambda_powertools", "aws_lambda_powertools.metrics"]
