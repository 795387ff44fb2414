"""`profile-expand lint --ask-iam` on Terraform (issue 25): the guard's account check (core/account.py) on
literal names and ARNs, against moto's IAM; what the module creates is not asked about; IAM trouble is
its own exit code, never a finding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from profile_expand.cli.main import main

LAMBDA_TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}
MODULE_PROFILE = 'resource "aws_iam_instance_profile" "own" {\n  name = "own-profile"\n}\n'


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("iam")


def lint(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> tuple[int, list[tuple[str, str]]]:
    (tmp_path / "main.tf").write_text(
        MODULE_PROFILE + f'resource "aws_instance" "web" {{\n  iam_instance_profile = {value}\n}}\n'
    )
    code = main(["lint", "--ask-iam", str(tmp_path), "--format", "json"])
    found = json.loads(capsys.readouterr().out or "[]")
    return code, [(f["Rule"]["Id"], f["Message"]) for f in found]


def test_a_role_name_of_the_account_is_e9006(
    iam: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    code, found = lint(tmp_path, capsys, '"app"')
    assert code == 2
    ((rule, message),) = found
    assert rule == "E9006"
    assert "is the name of IAM role app in this account" in message and '`role = "app"`' in message


def test_a_profile_whose_role_ec2_cannot_assume_is_e9007(
    iam: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    assert [rule for rule, _ in lint(tmp_path, capsys, '"app-profile"')[1]] == ["E9007"]


def test_no_such_profile_is_e9009(iam: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [rule for rule, _ in lint(tmp_path, capsys, '"nothing"')[1]] == ["E9009"]


def test_what_the_module_creates_is_not_asked_about(
    iam: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # IAM has no "own-profile" yet: the module creates it, so it is no E9009; written as a literal,
    # nothing orders the instance after it (W9004, issue 23), which the reference fixes.
    code, findings = lint(tmp_path, capsys, '"own-profile"')
    assert (code, [rule for rule, _ in findings]) == (4, ["W9004"])
    assert (
        "Terraform may create" in findings[0][1]
        and "depends_on = [aws_iam_instance_profile.own]" in findings[0][1]
    )
    assert lint(tmp_path, capsys, "aws_iam_instance_profile.own.name") == (0, [])


def test_iam_trouble_is_its_own_exit_code_and_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9")  # nothing answers there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    (tmp_path / "main.tf").write_text('resource "aws_instance" "web" {\n  iam_instance_profile = "app"\n}\n')
    code = main(["lint", "--ask-iam", str(tmp_path), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 16
    assert captured.out == ""
    assert "--ask-iam could not reach IAM" in captured.err


def test_without_boto3_the_error_names_the_iam_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import boto3` raise ModuleNotFoundError, as on a machine without it.
    monkeypatch.setitem(__import__("sys").modules, "boto3", None)
    (tmp_path / "main.tf").write_text('resource "aws_instance" "web" {\n  iam_instance_profile = "app"\n}\n')
    code = main(["lint", "--ask-iam", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 16 and captured.out == ""
    assert "--ask-iam needs boto3, which is not installed" in captured.err
    assert "pip install -e '.[iam]'" in captured.err and "Traceback" not in captured.err
