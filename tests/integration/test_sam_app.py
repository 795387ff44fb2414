"""The SAM app: template.yaml's promises (macro, least privilege, log retention) and the bundle `sam build` makes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from profile_expand import handler
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


def test_function_runtime_layer_and_handler_agree(template: dict[str, Any]) -> None:
    _, function = only(template, "AWS::Serverless::Function")
    properties = function["Properties"]
    assert properties["Architectures"] == ["arm64"]
    assert properties["MemorySize"] <= 256
    runtime = properties["Runtime"]
    assert re.fullmatch(r"python3\.1[2-9]", runtime)
    (layer,) = properties["Layers"]
    # The official Powertools v3 layer built for this very runtime and architecture.
    assert re.fullmatch(
        r"arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:017000801446:layer:"
        rf"AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-arm64:\$\{{PowertoolsLayerVersion\}}",
        layer["Fn::Sub"],
    )
    module, _, name = properties["Handler"].rpartition(".")
    assert (ROOT / properties["CodeUri"] / (module.replace(".", "/") + ".py")).is_file()
    assert getattr(handler, name) is handler.lambda_handler
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == handler.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == handler.NAMESPACE


def test_code_uri_has_no_requirements_file(template: dict[str, Any]) -> None:
    # Powertools comes from the layer; a requirements.txt would make `sam build` pip-install it again.
    _, function = only(template, "AWS::Serverless::Function")
    assert not (ROOT / function["Properties"]["CodeUri"] / "requirements.txt").exists()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    subprocess.run(
        [str(BIN / "sam"), "build", "--template", "template.yaml", "--build-dir", str(build_dir)],
        cwd=ROOT,
        # Source only, whatever Pythons this machine has: the bytecode step is tested on its own below.
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "RUNTIME_PYTHON": "false"},
        check=True,
        capture_output=True,
    )
    (function_dir,) = [p for p in build_dir.iterdir() if p.is_dir()]
    return function_dir


def test_bundle_gets_bytecode_when_the_runtime_python_is_there(tmp_path: Path) -> None:
    # This interpreter stands in for the function's python3.13: the build compiles with whatever it is given.
    subprocess.run(
        [
            "make",
            "-C",
            "src",
            "build-ProfileExpandFunction",
            f"ARTIFACTS_DIR={tmp_path}",
            f"RUNTIME_PYTHON={sys.executable}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    sources = {p.stem for p in (tmp_path / "profile_expand").glob("*.py")}
    tag = sys.implementation.cache_tag
    compiled = {
        p.name.split(".")[0] for p in (tmp_path / "profile_expand" / "__pycache__").glob(f"*.{tag}.pyc")
    }
    assert sources and compiled == sources


def test_bundle_is_small_and_free_of_author_tools(built: Path) -> None:
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert "profile_expand/handler.py" in files
    assert all(f.startswith("profile_expand/") and f.endswith(".py") for f in files), files
    assert sum((built / f).stat().st_size for f in files) < 500_000
    for name in files:
        source = (built / name).read_text(encoding="utf-8")
        # The Lambda has neither: a module importing them is CLI or lint code that must stay out.
        assert not re.search(r"^\s*(import|from)\s+(yaml|cfnlint)\b", source, re.MULTILINE), name


def test_bundle_runs_on_its_own(built: Path) -> None:
    # Only the bundle and Powertools on the path, as in Lambda with the layer (-S: no editable install).
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(built)!r}, {sysconfig.get_paths()['purelib']!r}]\n"
        "from profile_expand.handler import lambda_handler\n"
        "import profile_expand\n"
        + fake_context_source()
        + "response = lambda_handler(json.load(sys.stdin), context)\n"
        "mods = sorted(m.__file__ for n, m in sys.modules.items() if n.startswith('profile_expand'))\n"
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
