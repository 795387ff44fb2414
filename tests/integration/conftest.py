"""What the integration tests share: one `sam build` of the app per run, and a fresh in-process AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from tests.support import ROOT

BIN = Path(sys.executable).parent
DEFAULT_REGION = "us-east-1"


@pytest.fixture(scope="session")
def sam_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of this repository's template.yaml, once per run; the build folder.

    Source only, whatever Pythons this machine has (RUNTIME_PYTHON=false): the bytecode step is tested on
    its own in test_sam_app.
    """
    return sam_build_source_only("template.yaml", tmp_path_factory.mktemp("sam") / "build")


def sam_build_source_only(template: str, build_dir: Path) -> Path:
    """`sam build --template <template>` into build_dir with RUNTIME_PYTHON=false; the build folder."""
    subprocess.run(
        [str(BIN / "sam"), "build", "--template", template, "--build-dir", str(build_dir)],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "RUNTIME_PYTHON": "false"},
        check=True,
        capture_output=True,
    )
    return build_dir


def bundled_layers(bundle: Path) -> set[str]:
    """The subpackages of profile_expand that a bundle holds modules of."""
    package = bundle / "profile_expand"
    return {p.relative_to(package).parts[0] for p in package.rglob("*.py") if p.parent != package}


def fresh_aws(
    monkeypatch: pytest.MonkeyPatch, region: str = DEFAULT_REGION, config: DefaultConfig | None = None
) -> Iterator[None]:
    """A fresh in-process AWS (moto), with fake credentials so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    with mock_aws(config=config):
        yield


class Organization(NamedTuple):
    id: str
    unit: str  # an OU holding one member account
    member: str


def organization_with_a_member() -> Organization:
    """In moto: an organization (this account its management account) and an OU with one member account."""
    organizations = boto3.client("organizations")
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    unit = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"][
        "Id"
    ]
    member = organizations.create_account(AccountName="team", Email="team@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    organizations.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)
    return Organization(organization, unit, member)


def record_cloudformation_calls(session: boto3.session.Session) -> list[tuple[Any, dict[str, Any]]]:
    """Every CloudFormation call the session's clients make from now on: (operation model, parameters)."""
    calls: list[tuple[Any, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model, dict(params)))

    session.events.register("provide-client-params.cloudformation.*", record)
    return calls


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh in-process AWS per test, in us-east-1."""
    yield from fresh_aws(monkeypatch)
