"""One version everywhere a user reads it, and SAR metadata that `sam publish` and the service accept."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

import profile_expand
from tests.support import ROOT, load_template

VERSION = profile_expand.__version__
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
SAR_KEY = "AWS::ServerlessRepo::Application"

# The resource types this app declares, each checked against the Serverless Application Repository's
# "List of Supported AWS Resources" (serverlessrepo developer guide, list-supported-resources). A new
# resource type in template.yaml fails this test until someone has checked it there too.
SAR_CHECKED_TYPES = frozenset(
    {
        "AWS::CloudFormation::Macro",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Logs::LogGroup",
        "AWS::Serverless::Function",
        "AWS::Serverless::LayerVersion",
    }
)
# CreateApplication's constraints (SAR API reference): what SAR refuses at publish time.
SAR_AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
SAR_NAME = re.compile(r"^[a-zA-Z0-9\-]{1,140}$")
SAR_LABEL = re.compile(r"^[a-zA-Z0-9+\-_:\/@]{1,127}$")


@pytest.fixture(scope="module")
def sar() -> dict[str, Any]:
    metadata: dict[str, Any] = load_template(ROOT / "template.yaml")["Metadata"][SAR_KEY]
    return metadata


def test_version_is_semantic() -> None:
    assert SEMVER.match(VERSION), VERSION


def test_pyproject_reads_the_version_from_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "profile_expand.__version__"}


def test_changelog_latest_release_is_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.MULTILINE)
    assert headings[0] == ("Unreleased", ""), "keep an Unreleased section on top"
    released, date = headings[1]
    assert released == VERSION, f"CHANGELOG's latest release is {released}, the package says {VERSION}"
    assert date, "a release heading carries its date"
    # Every version heading has its compare/tag link at the bottom, as keep-a-changelog does.
    for name, _ in headings:
        assert re.search(rf"^\[{re.escape(name)}\]: https://", text, flags=re.MULTILINE), name


def test_sam_app_version_and_source_are_the_version(sar: dict[str, Any]) -> None:
    assert sar["SemanticVersion"] == VERSION
    assert sar["SourceCodeUrl"].endswith(f"/tree/v{VERSION}")


def test_readme_and_hooks_name_the_version() -> None:
    readme = (ROOT / "README.md").read_text()
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    pins = re.findall(r"(?:rev: |@)v(\d+\.\d+\.\d+)\b", readme + hooks)
    assert pins, "the README shows the pre-commit rev and the Action's tag"
    assert set(pins) == {VERSION}
    assert f"Current release: **{VERSION}**" in readme


def test_sar_accepts_every_resource_type_of_the_app() -> None:
    resources = load_template(ROOT / "template.yaml")["Resources"]
    types = {resource["Type"] for resource in resources.values()}
    assert types <= SAR_CHECKED_TYPES, (
        f"check these against SAR's supported list: {types - SAR_CHECKED_TYPES}"
    )


def test_sar_metadata_is_what_publish_accepts(sar: dict[str, Any]) -> None:
    # SAM CLI's own validation for `sam publish`, then the service's field constraints.
    from samcli.vendor.serverlessrepo.application_metadata import ApplicationMetadata

    ApplicationMetadata(sar).validate(["name", "description", "author", "semantic_version"])
    assert SAR_NAME.match(sar["Name"])
    assert SAR_AUTHOR.match(sar["Author"])
    assert 1 <= len(sar["Description"]) <= 256
    assert len(sar["Labels"]) <= 10 and all(SAR_LABEL.match(label) for label in sar["Labels"])
    assert sar["SpdxLicenseId"] == "Apache-2.0"
    # `sam package` uploads these local files; they must exist beside the template.
    for key in ("LicenseUrl", "ReadmeUrl"):
        assert (ROOT / sar[key]).is_file(), sar[key]
    assert "Apache License" in (ROOT / sar["LicenseUrl"]).read_text()
