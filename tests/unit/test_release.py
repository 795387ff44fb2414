"""One version everywhere a user reads it, and SAR metadata that `sam publish` and the service accept."""

from __future__ import annotations

import re
import subprocess
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


HEADING = re.compile(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", flags=re.MULTILINE)
PIN = re.compile(r"(?:rev: |@)v(\d+\.\d+\.\d+)\b")
REPOSITORY = "https://github.com/profile-expand/profile-expand"


def released(changelog: str, version: str) -> bool:
    """Whether `version` is released: the changelog has its dated heading (the release procedure adds it)."""
    return any(name == version and date for name, date in HEADING.findall(changelog))


def release_problems(version: str, changelog: str, readme: str, hooks: str, source_url: str) -> list[str]:
    """What the changelog, README and SAR metadata say that is not true of `version` (empty: all true).

    Before the first release nothing is published and no tag exists, so nothing may point at one; once
    the release procedure has run (README, Releasing), everything points at the tag v<version>.
    """
    problems: list[str] = []
    headings = HEADING.findall(changelog)
    if not headings or headings[0] != ("Unreleased", ""):
        problems.append("keep an Unreleased section on top")
    for name, _ in headings:
        if not re.search(rf"^\[{re.escape(name)}\]: https://", changelog, flags=re.MULTILINE):
            problems.append(f"the changelog's heading {name} has no link")
    pins = set(PIN.findall(readme + hooks))
    if released(changelog, version):
        if [name for name, _ in headings[1:2]] != [version]:
            problems.append(f"the changelog's latest release is not {version}")
        if pins != {version}:
            problems.append(f"the README pins {sorted(pins)}, the release is v{version}")
        if f"Current release: **{version}**" not in readme:
            problems.append("the README does not name the current release")
        if not source_url.endswith(f"/tree/v{version}"):
            problems.append(f"SourceCodeUrl {source_url} is not the tag v{version}")
    else:
        if len(headings) > 1:
            problems.append(f"the changelog has releases ({headings[1][0]}) but {version} is not one of them")
        if pins:
            problems.append(f"the README pins tags {sorted(pins)} that do not exist")
        if f"/tag/v{version}" in changelog or f"/compare/v{version}" in changelog:
            problems.append(f"the changelog links to the tag v{version}, which does not exist")
        if "Not released yet" not in readme or "pip install profile-expand " in readme + " ":
            problems.append("the README must say nothing is released and install from a clone or a wheel")
        if not source_url.endswith("/tree/main"):
            problems.append(f"SourceCodeUrl {source_url} names a tag; before a release it is /tree/main")
    return problems


def test_changelog_readme_and_sar_are_true_of_the_version(sar: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text() + (ROOT / "action.yml").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert sar["SemanticVersion"] == VERSION
    assert release_problems(VERSION, changelog, readme, hooks, sar["SourceCodeUrl"]) == []
    if released(changelog, VERSION) and (ROOT / ".git").exists():
        tags = subprocess.run(
            ["git", "tag", "--list", f"v{VERSION}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        assert tags == [f"v{VERSION}"], (
            f"the changelog says {VERSION} is released, but no tag v{VERSION} exists"
        )


def test_the_release_procedure_makes_them_true_for_the_release() -> None:
    # The Releasing steps of the README, applied to today's files, give a state the check accepts.
    readme = (ROOT / "README.md").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert not released(changelog, VERSION), "this test is about the first release"
    released_changelog = changelog.replace(
        "## [Unreleased]\n", f"## [Unreleased]\n\n## [{VERSION}] - 2027-01-01\n", 1
    ).replace(
        f"[Unreleased]: {REPOSITORY}/commits/main",
        f"[Unreleased]: {REPOSITORY}/compare/v{VERSION}...HEAD\n"
        f"[{VERSION}]: {REPOSITORY}/releases/tag/v{VERSION}",
    )
    released_readme = (
        readme.replace("rev: main", f"rev: v{VERSION}").replace("@main", f"@v{VERSION}")
        + f"\nCurrent release: **{VERSION}**\n"
    )
    assert (
        release_problems(VERSION, released_changelog, released_readme, "", f"{REPOSITORY}/tree/v{VERSION}")
        == []
    )
    # ... and the check refuses each half-done release.
    assert release_problems(VERSION, released_changelog, readme, "", f"{REPOSITORY}/tree/v{VERSION}")
    assert release_problems(VERSION, released_changelog, released_readme, "", f"{REPOSITORY}/tree/main")
    assert release_problems(VERSION, changelog, released_readme, "", f"{REPOSITORY}/tree/main")


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
