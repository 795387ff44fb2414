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


def fix_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[str, str]:
    """--fix on a module of one file: the fixed text and what --fix said; a second lint is clean and a
    second --fix changes nothing."""
    path = tmp_path / "main.tf"
    path.write_text(text)
    code = main(["lint", "--fix", str(tmp_path), "--format", "json"])
    captured = capsys.readouterr()
    assert (code, json.loads(captured.out or "[]")) == (0, [])
    fixed = path.read_text()
    assert lint(capsys, "--fix", str(tmp_path)) == (0, [])
    assert path.read_text() == fixed
    return fixed, captured.err


COUNTED = ROLE.replace('  name = "host" # kept\n', "  count = 2\n")
EACH = ROLE.replace('  name = "host" # kept\n', '  for_each = toset(["a", "b"])\n')


@pytest.mark.parametrize(
    ("role", "written", "profile", "rewritten"),
    [
        (
            COUNTED,
            "aws_iam_role.host[0].name",
            "  count = length(aws_iam_role.host)\n  role  = aws_iam_role.host[count.index].name\n",
            "aws_iam_instance_profile.host[0].name",
        ),
        (
            COUNTED,
            "aws_iam_role.host[count.index].id",
            "  count = length(aws_iam_role.host)\n  role  = aws_iam_role.host[count.index].name\n",
            "aws_iam_instance_profile.host[count.index].name",
        ),
        (
            EACH,
            'aws_iam_role.host["a"].name',
            "  for_each = aws_iam_role.host\n  role     = each.value.name\n",
            'aws_iam_instance_profile.host["a"].name',
        ),
        (
            EACH,
            "aws_iam_role.host[each.key].arn",
            "  for_each = aws_iam_role.host\n  role     = each.value.name\n",
            "aws_iam_instance_profile.host[each.key].name",
        ),
    ],
)
def test_fix_a_counted_role_adds_a_profile_with_its_count_and_keeps_the_index(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    role: str,
    written: str,
    profile: str,
    rewritten: str,
) -> None:
    counting = "count = 2" if "count" in role else 'for_each = toset(["a", "b"])'
    site = f'resource "aws_instance" "web" {{\n  {counting}\n  iam_instance_profile = {written}\n}}\n'
    fixed, _ = fix_and_check(tmp_path, capsys, role + site)
    assert f'resource "aws_iam_instance_profile" "host" {{\n{profile}}}' in fixed
    assert f"  iam_instance_profile = {rewritten}\n" in fixed


def test_fix_reuses_the_counted_profile_of_a_module_like_terraform_aws_ec2_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # terraform-aws-modules/terraform-aws-ec2-instance (main.tf): the role and its profile share one count
    # and the profile holds aws_iam_role.this[0]; here the instance names the role by mistake.
    count = "count = var.create && var.create_iam_instance_profile ? 1 : 0"
    text = (
        f'resource "aws_instance" "this" {{\n  iam_instance_profile = aws_iam_role.this[0].name\n}}\n\n'
        f'resource "aws_iam_role" "this" {{\n  {count}\n\n  name = "app"\n}}\n\n'
        f'resource "aws_iam_instance_profile" "this" {{\n  {count}\n\n  role = aws_iam_role.this[0].name\n}}\n'
    )
    fixed, _ = fix_and_check(tmp_path, capsys, text)
    assert fixed == text.replace(
        "iam_instance_profile = aws_iam_role.this[0].name",
        "iam_instance_profile = aws_iam_instance_profile.this[0].name",
    )


def test_fix_reuses_a_for_each_profile_over_the_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EACH + (
        'resource "aws_iam_instance_profile" "hosts" {\n  for_each = aws_iam_role.host\n'
        "  role     = each.value.name\n}\n"
        'resource "aws_launch_template" "web" {\n  iam_instance_profile {\n'
        '    arn = aws_iam_role.host["b"].arn\n  }\n}\n'
    )
    fixed, _ = fix_and_check(tmp_path, capsys, text)
    assert fixed == text.replace('aws_iam_role.host["b"].arn', 'aws_iam_instance_profile.hosts["b"].arn')


def test_fix_through_a_local_rewrites_the_site_and_leaves_the_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ROLE + (
        "locals {\n  role = aws_iam_role.host.name\n}\n"
        'resource "aws_instance" "web" {\n  iam_instance_profile = local.role\n}\n'
    )
    fixed, _ = fix_and_check(tmp_path, capsys, text)
    assert "locals {\n  role = aws_iam_role.host.name\n}\n" in fixed
    assert "  iam_instance_profile = aws_iam_instance_profile.host.name\n" in fixed
    assert 'resource "aws_iam_instance_profile" "host" {\n  role = aws_iam_role.host.name\n}' in fixed


@pytest.mark.parametrize("attribute", ["name", "arn", "id"])
def test_fix_a_data_source_role_adds_a_profile_holding_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], attribute: str
) -> None:
    data = '# the account\'s role\ndata "aws_iam_role" "existing" {\n  name = "existing"\n}\n'
    site = f'resource "aws_instance" "web" {{\n  iam_instance_profile = data.aws_iam_role.existing.{attribute}\n}}\n'
    fixed, _ = fix_and_check(tmp_path, capsys, data + site)
    assert fixed == data.replace(
        '"existing"\n}\n',
        '"existing"\n}\n\nresource "aws_iam_instance_profile" "existing" {\n'
        "  role = data.aws_iam_role.existing.name\n}\n",
    ) + site.replace(f"data.aws_iam_role.existing.{attribute}", "aws_iam_instance_profile.existing.name")


def test_a_splat_is_not_rewritten_and_fix_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        COUNTED + 'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_role.host[*].name\n}\n'
    )
    (tmp_path / "main.tf").write_text(text)
    assert main(["lint", "--fix", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("E9001 ")
    assert f"{tmp_path / 'main.tf'}:" in captured.err and "not rewritten: the splat" in captured.err
    assert "aws_iam_instance_profile.host[0].name" in captured.err
    assert (tmp_path / "main.tf").read_text() == text


def test_tf_json_is_not_rewritten_and_fix_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {
        "resource": {
            "aws_iam_role": {"host": {"name": "host"}},
            "aws_instance": {"web": {"iam_instance_profile": "${aws_iam_role.host.name}"}},
        }
    }
    path = tmp_path / "main.tf.json"
    path.write_text(json.dumps(document, indent=2))
    before = path.read_bytes()
    assert main(["lint", "--fix", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "E9001" in captured.out and path.read_bytes() == before
    assert (
        "Terraform's JSON syntax" in captured.err
        and "`${aws_iam_instance_profile.host.name}`" in captured.err
    )


def test_fix_on_a_plan_changes_nothing_and_says_to_fix_the_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    shutil.copy(ROOT / "tests" / "fixtures" / "terraform" / "plans" / "seed-plan.json", plan)
    before = plan.read_bytes()
    assert main(["lint", "--fix", str(plan)]) == 2
    captured = capsys.readouterr()
    assert "E9001" in captured.out and plan.read_bytes() == before
    assert f"{plan}:1:1: a plan is not source: --fix changes nothing in it; fix the module" in captured.err


def test_the_finding_on_a_counted_role_says_to_give_the_profile_its_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "main.tf").write_text(
        COUNTED + 'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_role.host[1].name\n}\n'
    )
    assert main(["lint", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "with `count = length(aws_iam_role.host)` and `role = aws_iam_role.host[count.index].name`" in out
