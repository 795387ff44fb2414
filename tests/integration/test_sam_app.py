"""The SAM app: template.yaml's promises (macro, least privilege, log retention) and the bundle `sam build` makes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from profile_expand.macro import handler
from tests.integration.conftest import bundled_layers
from tests.support import fake_context_source

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded = cfn_yaml.loads((ROOT / "template.yaml").read_text(encoding="utf-8"), "template.yaml")
    plain: dict[str, Any] = json.loads(json.dumps(decoded))
    return plain


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = of_type(template, kind).items()
    return item


def test_macro_is_named_by_a_parameter_defaulting_to_profile_expand(template: dict[str, Any]) -> None:
    function_id, _ = only(template, "AWS::Serverless::Function")
    _, macro = only(template, "AWS::CloudFormation::Macro")
    assert macro["Properties"]["Name"] == {"Ref": "MacroName"}
    assert macro["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert template["Parameters"]["MacroName"]["Default"] == "ProfileExpand"
    assert re.fullmatch(template["Parameters"]["MacroName"]["AllowedPattern"], "ProfileExpand")


def test_function_may_only_write_its_own_logs(template: dict[str, Any]) -> None:
    _, function = only(template, "AWS::Serverless::Function")
    properties = function["Properties"]
    # An explicit role: SAM then adds no role and no policies of its own.
    assert "Policies" not in properties
    role_id, role = only(template, "AWS::IAM::Role")
    assert properties["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "PermissionsBoundary" not in role["Properties"]
    (principal,) = [s["Principal"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert principal == {"Service": "lambda.amazonaws.com"}
    log_group_id, _ = only(template, "AWS::Logs::LogGroup")
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]


def test_log_group_has_retention_and_receives_the_function_logs(template: dict[str, Any]) -> None:
    log_group_id, log_group = only(template, "AWS::Logs::LogGroup")
    _, function = only(template, "AWS::Serverless::Function")
    retention = log_group["Properties"]["RetentionInDays"]
    assert retention == {"Ref": "LogRetentionInDays"}
    assert (
        template["Parameters"]["LogRetentionInDays"]["Default"]
        in (template["Parameters"]["LogRetentionInDays"]["AllowedValues"])
    )
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    # The conventional name, so the console's "View logs" finds it.
    assert log_group["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/" + function["Properties"]["FunctionName"]["Fn::Sub"]
    }


def test_function_runtime_and_handler_agree_and_no_layer_is_used(template: dict[str, Any]) -> None:
    _, function = only(template, "AWS::Serverless::Function")
    properties = function["Properties"]
    assert properties["Architectures"] == ["arm64"]
    assert properties["MemorySize"] <= 256
    assert re.fullmatch(r"python3\.1[2-9]", properties["Runtime"])
    # Powertools is in the bundle: a public layer needs credentials locally and exists in one partition only.
    assert "Layers" not in properties
    assert "PowertoolsLayerVersion" not in template["Parameters"]
    module, _, name = properties["Handler"].rpartition(".")
    assert (ROOT / properties["CodeUri"] / (module.replace(".", "/") + ".py")).is_file()
    assert getattr(handler, name) is handler.lambda_handler
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == handler.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == handler.NAMESPACE


def test_code_uri_has_no_requirements_file(template: dict[str, Any]) -> None:
    # src/Makefile installs Powertools from lambda-requirements.txt; a requirements.txt would suggest SAM's
    # own Python builder, which BuildMethod makefile replaces.
    _, function = only(template, "AWS::Serverless::Function")
    assert not (ROOT / function["Properties"]["CodeUri"] / "requirements.txt").exists()


def pinned_powertools() -> str:
    (line,) = [
        line
        for line in (ROOT / "src" / "lambda-requirements.txt").read_text().splitlines()
        if line.startswith("aws-lambda-powertools==")
    ]
    return line.split("==")[1]


def test_the_tests_install_the_powertools_the_bundle_gets() -> None:
    # requirements-dev.txt includes the bundle's list, so the version tested is the version deployed.
    assert "-r src/lambda-requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert metadata.version("aws-lambda-powertools") == pinned_powertools()


@pytest.fixture
def built(sam_build_dir: Path) -> Path:
    """The function's folder of the run's one `sam build` (source only)."""
    (function_dir,) = [p for p in sam_build_dir.iterdir() if p.is_dir()]
    return function_dir


def _build(artifacts: Path, runtime_python: str) -> str:
    done = subprocess.run(
        [
            "make",
            "-C",
            "src",
            "build-ProfileExpandFunction",
            f"ARTIFACTS_DIR={artifacts}",
            f"RUNTIME_PYTHON={runtime_python}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_bundle_gets_bytecode_from_a_python_of_the_runtime_version(tmp_path: Path) -> None:
    found = subprocess.run(
        ["bash", "src/find_runtime_python.sh", "3.13"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if not found:
        pytest.skip("no CPython 3.13 on this machine (PATH or pyenv): the bytecode step cannot run here")

    output = _build(tmp_path, found)

    assert f"bytecode for the bundle compiled by {found}" in output
    for package in ("profile_expand", "aws_lambda_powertools"):
        sources = {p.stem for p in (tmp_path / package).glob("*.py")}
        compiled = {
            p.name.split(".")[0] for p in (tmp_path / package / "__pycache__").glob("*.cpython-313.pyc")
        }
        assert sources and compiled == sources, package


def test_bundle_is_source_only_and_says_so_without_a_python_of_the_runtime_version(tmp_path: Path) -> None:
    # This interpreter is not 3.13 (the tests run on 3.11): its bytecode would be useless on the function.
    if sys.version_info[:2] == (3, 13):
        pytest.skip("the tests run on 3.13 itself")

    output = _build(tmp_path, sys.executable)

    assert "no Python 3.13 found" in output and "bundling source only" in output
    assert not list(tmp_path.rglob("*.pyc"))


def test_bundle_holds_the_pinned_powertools_pure_python_and_no_author_tools(built: Path) -> None:
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert "profile_expand/macro/handler.py" in files
    assert f"aws_lambda_powertools-{pinned_powertools()}.dist-info/METADATA" in files
    # Only pure-Python wheels: nothing built for the build machine's x86_64 can reach the arm64 function.
    wheels = [(built / f).read_text() for f in files if f.endswith(".dist-info/WHEEL")]
    assert wheels and all("Root-Is-Purelib: true" in wheel for wheel in wheels)
    assert not [f for f in files if f.endswith((".so", ".pyd"))]
    ours = [f for f in files if f.startswith("profile_expand/")]
    assert all(f.endswith(".py") for f in ours), ours
    assert sum((built / f).stat().st_size for f in ours) < 500_000
    for name in ours:
        source = (built / name).read_text(encoding="utf-8")
        # The Lambda has neither: a module importing them is CLI or lint code that must stay out.
        assert not re.search(r"^\s*(import|from)\s+(yaml|cfnlint)\b", source, re.MULTILINE), name
    assert not any(f.startswith(("boto3/", "botocore/", "bin/")) for f in files)


def test_bundle_runs_on_its_own(built: Path) -> None:
    # Only the bundle and the standard library on the path, as in Lambda (-S: no site-packages at all).
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(built)!r}]\n"
        "from profile_expand.macro.handler import lambda_handler\n"
        "import profile_expand\n"
        + fake_context_source()
        + "response = lambda_handler(json.load(sys.stdin), context)\n"
        "mods = sorted(m.__file__ for n, m in sys.modules.items()\n"
        "              if n.split('.')[0] in ('profile_expand', 'aws_lambda_powertools') and m.__file__)\n"
        "print(json.dumps({'status': response['status'], 'package': profile_expand.__file__, 'mods': mods}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script],
        input=(ROOT / "events" / "ec2_instance.json").read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == "success"
    assert result["package"].startswith(str(built))
    assert all(path.startswith(str(built)) for path in result["mods"])


def test_bundle_is_the_core_and_the_macro_only(built: Path) -> None:
    # Issue 22: a Lambda bundle is the core plus its own front end; no guard, lint or cli module.
    assert bundled_layers(built) == {"core", "macro"}
