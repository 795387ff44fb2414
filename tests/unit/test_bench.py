"""The benchmark package (bench/), run small: generators that build templates the core really expands, the
readers of template.yaml and of pythons, and targets decided from the numbers.

A benchmark of a template the core rejects (or only half expands) would time an error path.
"""

from __future__ import annotations

import copy
import json
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bench import coldstart, generators, inprocess, report, runtime, settings, targets

from profile_expand import expand
from profile_expand.core.sites import sites_for

ModuleType = SimpleNamespace


@pytest.fixture(scope="module")
def bench() -> SimpleNamespace:
    """The package's modules as one namespace: these tests do not care which module holds what."""
    names: dict[str, Any] = {}
    for module in (generators, settings, inprocess, coldstart, runtime, targets, report):
        names.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return SimpleNamespace(**names)


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
    with pytest.raises(ValueError, match="expected 11 resources"):
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
      Handler: profile_expand.macro.handler.lambda_handler
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


def test_runtime_version_is_read_from_the_function_or_its_globals(bench: ModuleType) -> None:
    template = """
Globals:
  Function:
    Runtime: python3.12
Resources:
  Macro:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt Role.Arn
      Handler: profile_expand.macro.handler.lambda_handler
"""
    assert bench.runtime_version(template) == "3.12"
    assert bench.runtime_version(template.replace("Role: !", "Runtime: python3.13\n      Role: !")) == "3.13"
    with pytest.raises(ValueError, match=r"nodejs22\.x"):
        bench.runtime_version(template.replace("python3.12", "nodejs22.x"))


def test_pinned_version_reads_name_equals_version_lines(bench: ModuleType) -> None:
    requirements = """
# comment
cfn-lint==1.58.0
aws_lambda_powertools == 3.37.0  # the layer's major version
moto[cloudformation,ec2]==5.2.5
boto3
requests>=2 ; python_version < "3.12"
"""
    assert bench.pinned_version(requirements, "aws-lambda-powertools") == "3.37.0"
    assert bench.pinned_version(requirements, "moto") == "5.2.5"
    assert bench.pinned_version(requirements, "boto3") is None
    assert bench.pinned_version(requirements, "requests") is None
    assert bench.pinned_version(requirements, "cfn") is None
    assert bench.pinned_version(bench.REQUIREMENTS.read_text(), "aws-lambda-powertools")


def test_pyenv_pythons_lists_releases_of_the_version_newest_first(bench: ModuleType, tmp_path: Path) -> None:
    for name in (
        "3.13.2",
        "3.13.10",
        "3.13",
        "3.13.1",
        "3.13t",
        "3.13-dev",
        "3.13.0rc1",
        "3.130.0",
        "3.12.1",
    ):
        executable = tmp_path / name / "bin" / f"python{name[:4]}"
        executable.parent.mkdir(parents=True)
        executable.write_text("")
    (tmp_path / "3.13.1" / "bin" / "python3.13").unlink()  # a release without its interpreter

    found = bench.pyenv_pythons(tmp_path, "3.13")

    assert [path.parent.parent.name for path in found] == ["3.13.10", "3.13.2", "3.13"]
    assert bench.pyenv_pythons(tmp_path / "missing", "3.13") == []


def test_an_explicit_runtime_python_is_the_only_one_tried(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    running = ".".join(str(part) for part in sys.version_info[:2])
    monkeypatch.setenv("BENCH_RUNTIME_PYTHON", sys.executable)

    found = bench.find_runtime_python(running)
    wrong = bench.find_runtime_python("3.4")

    assert found.version.startswith(f"{running}.")
    assert Path(found.executable).resolve() == Path(sys.executable).resolve()
    assert isinstance(wrong, str)
    assert f"is CPython {found.version}, the function runs CPython 3.4" in wrong
    monkeypatch.setenv("BENCH_RUNTIME_PYTHON", str(tmp_path / "python3.13"))
    missing = bench.find_runtime_python("3.13")
    assert isinstance(missing, str)
    assert "python3.13 (from $BENCH_RUNTIME_PYTHON)" in missing


def test_bundle_size_counts_every_file_and_the_bytecode(bench: ModuleType, tmp_path: Path) -> None:
    package = tmp_path / "profile_expand"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("x = 1\n" * 100)
    (package / "__pycache__" / "core.cpython-313.pyc").write_bytes(b"\0" * 50)

    size = bench.bundle_size(tmp_path)

    assert (size.files, size.bytecode_files, size.bytes) == (3, 1, 650)
    assert 0 < size.zipped_bytes < 650 + 3 * 200  # deflated content plus the archive's headers


def test_code_origins_tells_bytecode_from_source_within_the_bundle(bench: ModuleType) -> None:
    verbose = """
# /b/profile_expand/__pycache__/__init__.cpython-313.pyc matches /b/profile_expand/__init__.py
# code object from '/b/profile_expand/__pycache__/__init__.cpython-313.pyc'
# code object from /b/profile_expand/core/pipeline.py
# code object from '/venv/lib/python3.13/site-packages/aws_lambda_powertools/__init__.cpython-313.pyc'
import 'profile_expand' # <_frozen_importlib_external.SourceFileLoader object at 0x7f>
"""
    assert bench.code_origins(verbose, Path("/b")) == {"bytecode": 1, "source": 1}
    assert bench.code_origins(verbose, Path("/elsewhere")) == {}


def test_home_as_tilde_shortens_only_paths_under_home(bench: ModuleType) -> None:
    assert bench.home_as_tilde("in /home/ci/.pyenv/versions", "/home/ci") == "in ~/.pyenv/versions"
    assert bench.home_as_tilde("/home/ci", "/home/ci/") == "~"
    assert bench.home_as_tilde("/home/circle/python3.13", "/home/ci") == "/home/circle/python3.13"
    assert bench.home_as_tilde("/usr/bin/python3.13", "") == "/usr/bin/python3.13"


def _runtime_cold_start(bench: ModuleType, handler_ms: dict[str, list[float]]) -> Any:
    size = bench.BundleSize(files=2, bytecode_files=0, bytes=1000, zipped_bytes=500)
    cpu = {bench.RUNTIME_POWERTOOLS: [30.0, 29.0, 31.0], **handler_ms}
    return bench.RuntimeColdStart(
        python=bench.RuntimePython("/usr/bin/python3.13", "CPython", "3.13.1", "on the PATH"),
        venv=bench.BENCH_DIR / "venv-python3.13",
        powertools="3.37.0",
        bundles={bench.RUNTIME_HANDLER_SOURCE: size, bench.RUNTIME_HANDLER_BYTECODE: size},
        cpu_ms=cpu,
        wall_ms={label: [ms + 1 for ms in runs] for label, runs in cpu.items()},
        runs=3,
    )


def test_runtime_section_compares_each_bundle_with_powertools_and_only_the_bytecode_one_is_a_target(
    bench: ModuleType,
) -> None:
    runtime = _runtime_cold_start(
        bench,
        {
            bench.RUNTIME_HANDLER_SOURCE: [46.0, 50.0, 46.5],  # median 46.5: 16.5 over Powertools' 30
            bench.RUNTIME_HANDLER_BYTECODE: [35.0, 34.0, 90.0],  # median 35: 5 over, despite one outlier
        },
    )

    text = "\n".join(bench.runtime_section(runtime))
    (target,) = bench.cold_start_targets(None, runtime)

    source_row = next(
        line for line in text.splitlines() if line.startswith(f"| {bench.RUNTIME_HANDLER_SOURCE} ")
    )
    bytecode_row = next(
        line for line in text.splitlines() if line.startswith(f"| {bench.RUNTIME_HANDLER_BYTECODE} ")
    )
    assert "| 16.5 | 16.5 | — (for scale) |" in source_row
    assert "| 5.0 | 5.0 | ≤ 15 ms (Targets) |" in bytecode_row
    assert (target.value, target.limit, target.met) == (5.0, 15.0, True)
    assert "CPython 3.13.1 (`/usr/bin/python3.13`, found on the PATH)" in text
    assert "| bundle with bytecode | 2 | 0 | 1,000 | 500 |" in text


def test_a_missed_target_is_decided_from_the_numbers_and_shown_in_the_report(bench: ModuleType) -> None:
    runtime = _runtime_cold_start(
        bench, {bench.RUNTIME_HANDLER_SOURCE: [46.0], bench.RUNTIME_HANDLER_BYTECODE: [45.5, 46.0, 47.0]}
    )

    (target,) = bench.cold_start_targets(None, runtime)
    lines = bench.targets_section([target, bench.Target("memory", 128.0, 128.0, "MB", strict=True)])

    assert target.value == 16.0 and not target.met
    assert "| 16 ms | ≤ 15 ms | **no** |" in lines[4]
    assert "| 128 MB | < 128 MB | **no** |" in lines[5]
    assert lines[-1] == "0 of 2 targets met."


def _container(first: float, second: float, peak: float) -> Any:
    # init (wall) = first - 50, init CPU = first - 60
    return runtime.Container(
        "h", [first, second], first - 50, first - 60, peak, peak + 10, [{"status": "success"}] * 2
    )


def test_lambda_runtime_init_is_first_minus_second_invocation_against_the_powertools_baseline() -> None:
    run = runtime.RuntimeRun(
        image="public.ecr.aws/lambda/python:3.13-x86_64",
        image_label="local stand-in",
        memory_size_mb=256,
        # init CPU medians 40 and 26
        macro=[_container(100, 2, 20), _container(130, 2, 20), _container(90, 2, 20)],
        baseline=[_container(80, 1, 18), _container(86, 1, 18), _container(200, 1, 18)],
        large=[_container(300, 80, 30), _container(280, 75, 110)],
        large_event_bytes=1_000_000,
        large_resources=429,
    )

    init, memory = targets.lambda_runtime_targets(run)
    text = "\n".join(report.lambda_runtime_section(run))

    assert (init.value, init.limit, init.met) == (14.0, 15.0, True)
    assert (memory.value, memory.limit, memory.met) == (120.0, 128.0, True)  # the highest container peak
    assert "| Powertools only | 3 | ec2_instance.json | 86.0 (80.0 to 200.0) " in text
    assert "Init of the macro beyond Powertools only, CPU: 14.0 ms" in text
    assert "wall clock (INIT REPORT): 14.0 ms" in text
    assert (
        "| macro | 3 | ec2_instance.json | 100.0 (90.0 to 130.0) | 2.0 (2.0 to 2.0) | 98.0 (88.0 to 128.0) "
        in text
    )


def test_init_is_the_emulators_init_report() -> None:
    log = (
        "28 Nov 2026 07:58:02,027 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n"
        "28 Nov 2026 07:58:02,310 [INFO] (rapid) INIT RTDONE(status: success)\n"
        "28 Nov 2026 07:58:02,310 [INFO] (rapid) INIT REPORT(durationMs: 282.721000)\n"
        "REPORT RequestId: f4\tInit Duration: 0.03 ms\tDuration: 285.63 ms\tBilled Duration: 286 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 256 MB\n"
    )

    assert runtime.init_report_ms(log) == 282.721
    with pytest.raises(RuntimeError, match="0 INIT REPORT lines"):
        runtime.init_report_ms("START RequestId: 1\n")


def test_the_baseline_handler_imports_exactly_the_handlers_powertools_modules() -> None:
    source = runtime.baseline_source(settings.HANDLER_SOURCE.read_text())

    assert "import aws_lambda_powertools, aws_lambda_powertools.metrics" in source
    assert "profile_expand" not in source.split('"""')[2]
    compile(source, "powertools_only.py", "exec")


def test_runtime_section_says_why_it_was_skipped(bench: ModuleType) -> None:
    lines = bench.runtime_section("no CPython 3.13 on this machine")

    assert lines[0] == "## Cold start on the Lambda runtime's Python"
    assert lines[-1] == "Skipped: no CPython 3.13 on this machine."


def test_the_terraform_row_is_met_at_most_one_and_a_half_times_python_hcl2() -> None:
    from bench.targets import terraform_targets
    from bench.terraform import TerraformTiming, section

    def run(ratio: float) -> TerraformTiming:
        return TerraformTiming(8, 11, 0.9 * ratio, 0.9, ratio, ratio, None, "checkov not measured: no venv")

    assert [t.met for t in terraform_targets(run(1.5))] == [True]
    assert [t.met for t in terraform_targets(run(1.51))] == [False]
    assert "checkov not measured: no venv" in section(run(1.0), 2)
    assert "Not measured: no corpus." in section("no corpus", 2)


def test_the_source_only_import_compiles_every_module_of_the_package(tmp_path: Path) -> None:
    """The handler imports core/ too: the 'compiled from source' row must find none of our bytecode cached
    (after the move into subpackages it removed only macro/'s, and measured the cached case twice)."""
    from bench.coldstart import _bytecode_caches

    cached, source_only = _bytecode_caches(tmp_path)
    ours = [p for p in Path(source_only["PYTHONPYCACHEPREFIX"]).rglob("*.pyc") if "profile_expand" in p.parts]
    assert ours == []
    warm = [p for p in Path(cached["PYTHONPYCACHEPREFIX"]).rglob("*.pyc") if "profile_expand" in p.parts]
    assert any("core" in p.parts for p in warm)
