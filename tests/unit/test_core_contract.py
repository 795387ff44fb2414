"""The core's contract beyond the golden cases: purity, the docstring example, stable generated IDs."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

import profile_expand.core.pipeline
from profile_expand import InvalidTemplateError, expand, expand_with_report
from tests.support import GOLDEN_INPUT, load_template


def test_core_imports_nothing_from_aws_or_the_author_tools() -> None:
    code = (
        "import sys, profile_expand; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'boto3', 'botocore', 'aws_lambda_powertools', 'cfnlint', 'yaml', 'samtranslator'}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(imported.stdout.replace("'", '"')) == []


def test_docstring_example_runs() -> None:
    results = doctest.testmod(profile_expand.core.pipeline)
    assert results.attempted >= 3 and results.failed == 0


def _role(name: str) -> dict[str, object]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}, "Comment": name}


def test_generated_ids_do_not_move_when_unrelated_resources_change() -> None:
    base = load_template(GOLDEN_INPUT / "external_roles.yaml")
    before = expand(base)
    edited = dict(base)
    # Unrelated edits: a resource added at the front, another removed, the rest reordered.
    resources = {"AAAFirst": {"Type": "AWS::S3::Bucket"}}
    resources.update(reversed([(k, v) for k, v in base["Resources"].items() if k != "BySub"]))
    edited["Resources"] = resources
    after = expand(edited)
    generated_before = {k for k, v in before["Resources"].items() if v["Type"] == "AWS::IAM::InstanceProfile"}
    generated_after = {k for k, v in after["Resources"].items() if v["Type"] == "AWS::IAM::InstanceProfile"}
    # BySub's profile is gone with it; every other profile keeps its logical ID.
    assert generated_after == generated_before - {"AWSStackNameWorkerInstanceProfile7e42f4e9"}


def test_report_counts_and_warnings() -> None:
    report = expand_with_report(load_template(GOLDEN_INPUT / "classic_mistake_corrected.yaml"))
    assert report.profiles_created == ("AppRoleInstanceProfile",)
    assert report.sites_rewritten == 4
    assert {w.logical_id for w in report.warnings} == {"Web", "WebTemplate", "Batch", "Environment"}
    assert all("AppRole" in str(w) for w in report.warnings)


def test_nothing_to_expand_returns_an_equal_template() -> None:
    template = load_template(GOLDEN_INPUT / "untouched_non_sites_and_profiles.yaml")
    assert expand(template) == template


@pytest.mark.parametrize("fragment", [None, [], "Resources", 3, {"Resources": None}, {"Resources": []}])
def test_not_a_template_is_a_template_error(fragment: object) -> None:
    with pytest.raises(InvalidTemplateError) as raised:
        expand(fragment)  # type: ignore[arg-type]
    assert raised.value.errors[0].logical_id == ""
    assert "Template:" in raised.value.summary


def test_resource_limit() -> None:
    resources: dict[str, object] = {f"Role{i}": _role(str(i)) for i in range(250)}
    resources.update(
        {f"Web{i}": {"Type": "AWS::EC2::Instance", "Properties": {"IamRole": f"Role{i}"}} for i in range(250)}
    )
    with pytest.raises(InvalidTemplateError, match="750 resources, more than CloudFormation's limit of 500"):
        expand({"Resources": resources})
