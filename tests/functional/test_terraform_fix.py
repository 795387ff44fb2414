"""`profile-expand lint --fix` on Terraform (issue 25): the seed made deploy-ready, every other byte kept,
a second lint clean, a second fix a no-op; only the certain case rewritten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from profile_expand.cli.main import main
from tests.support import ROOT

SEED = ROOT / "tests" / "fixtures" / "terraform" / "seed"
ROLE = (
    "# the host's role\n"
    'resource "aws_iam_role" "host" {\n  name = "host" # kept\n'
    '  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
    'Principal = { Service = "ec2.amazonaws.com" } }] })\n}\n'
)


def lint(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str]]:
    code = main(["lint", *arguments, "--format", "json"])
    return code, [f["Rule"]["Id"] for f in json.loads(capsys.readouterr().out or "[]")]


def test_fix_makes_the_seed_deploy_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(SEED, tmp_path / "seed")
    main_tf = tmp_path / "seed" / "main.tf"
    before = main_tf.read_text()
    assert lint(capsys, "--fix", str(main_tf)) == (0, [])
    after = main_tf.read_text()
    assert "iam_instance_profile = aws_iam_instance_profile.IAMRole.name\n" in after
    assert 'resource "aws_iam_instance_profile" "IAMRole" {\n  role = aws_iam_role.IAMRole.name\n}' in after
    # Every other byte stays: take the two edits back out and the file is what it was.
    undone = after.replace(
        '\n\nresource "aws_iam_instance_profile" "IAMRole" {\n  role = aws_iam_role.IAMRole.name\n}', ""
    ).replace("aws_iam_instance_profile.IAMRole.name", "aws_iam_role.IAMRole.name")
    assert undone == before
    assert lint(capsys, str(main_tf)) == (0, [])
    assert lint(capsys, "--fix", str(main_tf)) == (0, [])
    assert main_tf.read_text() == after


def test_fix_keeps_crlf_and_comments_and_writes_the_arn_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ROLE + (
        'resource "aws_launch_template" "web" {\n  iam_instance_profile {\n'
        "    arn = aws_iam_role.host.arn # the mistake\n  }\n}\n"
    )
    path = tmp_path / "main.tf"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    assert lint(capsys, "--fix", str(tmp_path)) == (0, [])
    fixed = path.read_bytes().decode()
    assert "\n" not in fixed.replace("\r\n", "")
    assert "    arn = aws_iam_instance_profile.host.arn # the mistake\r\n" in fixed
    assert "# the host's role\r\n" in fixed and '"host" # kept\r\n' in fixed


def test_fix_uses_the_profile_the_module_has(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "iam.tf").write_text(
        ROLE + 'resource "aws_iam_instance_profile" "p" {\n  role = aws_iam_role.host.id\n}\n'
    )
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_role.host.name\n}\n'
    )
    assert lint(capsys, "--fix", str(tmp_path)) == (0, [])
    assert "iam_instance_profile = aws_iam_instance_profile.p.name" in (tmp_path / "main.tf").read_text()
    assert (tmp_path / "iam.tf").read_text().count("aws_iam_instance_profile") == 1


def test_fix_leaves_what_is_not_certain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ROLE.replace('name = "host" # kept', "count = 2") + (
        'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_role.host[0].name\n}\n'
    )
    (tmp_path / "main.tf").write_text(text)
    assert lint(capsys, "--fix", str(tmp_path)) == (2, ["E9001"])
    assert (tmp_path / "main.tf").read_text() == text
