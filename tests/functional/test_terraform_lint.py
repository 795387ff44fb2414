"""`profile-expand lint` on Terraform (issue 25): the seed's module, every site of the table, located output
in cfn-lint's formats and exit bits, unreadable files, and a CloudFormation lint that never loads HCL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from profile_expand.cli.main import main
from profile_expand.core.sites import SITES, Site, TerraformAttribute
from profile_expand.terraform.translate import awscc_type, snake
from tests.support import ROOT

SEED = ROOT / "tests" / "fixtures" / "terraform" / "seed"

ROLE = """\
resource "aws_iam_role" "host" {
  name = "host"
  assume_role_policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

resource "aws_iam_instance_profile" "host" {
  name = "host-profile"
  role = aws_iam_role.host.name
}
"""


def lint_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["lint", *arguments, "--format", "json"])
    return code, json.loads(capsys.readouterr().out or "[]")


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_seed_module_reports_e9001_at_the_attribute_with_the_profile_to_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main_tf = SEED / "main.tf"
    code = main(["lint", str(main_tf)])
    out = capsys.readouterr().out
    assert code == 2
    assert f"{main_tf}:{line_of(main_tf, 'iam_instance_profile')}:" in out
    assert out.startswith("E9001 aws_iam_role.IAMRole.name is role aws_iam_role.IAMRole")
    assert "write `aws_iam_instance_profile.IAMRole.name` here" in out
    assert "`role = aws_iam_role.IAMRole.name`" in out


def test_folder_json_format_and_non_zero_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = lint_json(capsys, str(SEED))
    assert code == 2
    assert [(f["Rule"]["Id"], f["Location"]["Start"]["LineNumber"]) for f in found] == [  # type: ignore[index]
        ("E9001", line_of(SEED / "main.tf", "iam_instance_profile"))
    ]
    assert main(["lint", str(SEED), "--non-zero-exit-code", "none"]) == 0


def test_sarif_format_names_the_tf_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(SEED), "--format", "sarif"]) == 2
    sarif = json.loads(capsys.readouterr().out)
    (result,) = sarif["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("seed/main.tf")
    assert result["ruleId"] == "E9001"


def test_a_profile_reference_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text(
        ROLE
        + 'resource "aws_instance" "web" {\n  iam_instance_profile = aws_iam_instance_profile.host.name\n}\n'
    )
    assert lint_json(capsys, str(tmp_path)) == (0, [])


@pytest.mark.parametrize(
    "value",
    [
        "var.profile",
        "module.iam.profile_name",
        "local.computed",
        '"${var.prefix}-profile"',
        "data.external.x.result",
    ],
)
def test_unknown_values_give_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    (tmp_path / "main.tf").write_text(
        ROLE
        + 'locals {\n  computed = "${var.a}-b"\n}\n'
        + f'resource "aws_instance" "web" {{\n  iam_instance_profile = {value}\n}}\n'
    )
    assert lint_json(capsys, str(tmp_path)) == (0, [])


@pytest.mark.parametrize(
    "value",
    [
        "aws_iam_role.host.name",
        "aws_iam_role.host.id",
        "aws_iam_role.host.unique_id",
        "aws_iam_role.host[0].name",
        'aws_iam_role.host["a"].name',
        "aws_iam_role.host[*].name",
        "local.role",
        "data.aws_iam_role.existing.name",
    ],
)
def test_role_references_are_e9001(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    (tmp_path / "main.tf").write_text(
        ROLE
        + 'data "aws_iam_role" "existing" {\n  name = "existing"\n}\n'
        + "locals {\n  role = aws_iam_role.host.name\n}\n"
        + f'resource "aws_instance" "web" {{\n  iam_instance_profile = {value}\n}}\n'
    )
    code, found = lint_json(capsys, str(tmp_path))
    assert code == 2
    assert [f["Rule"]["Id"] for f in found] == ["E9001"]  # type: ignore[index]


def _site_text(site: Site, attribute: TerraformAttribute | None, value: str) -> str:
    """A resource of the site's Terraform type that holds `value` at the site."""
    if attribute is None:  # awscc: CloudFormation's names, objects for its nested properties
        inner = f"{snake(site.profile_property)} = {value}"
        if site.takes_object:
            inner = f"{snake(site.profile_property)} = {{ arn = {value} }}"
        if site.kind.value == "option-setting":
            inner = (
                f'option_settings = [{{ namespace = "{site.option_namespace}", '
                f'option_name = "{site.profile_property}", value = {value} }}]'
            )
            return f'resource "{awscc_type(site.resource_type)}" "site" {{\n  {inner}\n}}\n'
        for step in reversed(site.container[1:]):
            inner = f"{snake(step)} = {{ {inner} }}" if step != "*" else inner
            if step == "*":
                inner = inner  # a list of objects: written below as [ ... ]
        return f'resource "{awscc_type(site.resource_type)}" "site" {{\n  {inner}\n}}\n'
    if attribute.option_setting:
        inner = (
            f'setting {{\n    namespace = "{site.option_namespace}"\n    name = "{site.profile_property}"\n'
            f"    value = {value}\n  }}"
        )
    else:
        inner = f"{attribute.attribute} = {value}"
        for block in reversed(attribute.blocks):
            inner = f"{block} {{\n    {inner}\n  }}"
    return f'resource "{attribute.resource_type}" "site" {{\n  {inner}\n}}\n'


NATIVE = [(site, attribute) for site in SITES for attribute in site.terraform]
# The awscc provider has no resource for a retired service (OpsWorks).
AWSCC = [(site, None) for site in SITES if "*" not in site.container and not site.retired_on]


@pytest.mark.parametrize(
    ("site", "attribute"),
    NATIVE + AWSCC,
    ids=[f"{a.resource_type}.{a.attribute}" for _, a in NATIVE]
    + [awscc_type(s.resource_type) for s, _ in AWSCC],
)
def test_every_site_reports_a_role_and_accepts_a_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], site: Site, attribute: TerraformAttribute | None
) -> None:
    key = attribute.key if attribute is not None and attribute.key else site.writes.key
    wants_arn = key == "Arn" or (attribute is None and site.takes_object)
    attr = "arn" if wants_arn else "name"
    (tmp_path / "main.tf").write_text(ROLE + _site_text(site, attribute, f"aws_iam_role.host.{attr}"))
    code, found = lint_json(capsys, str(tmp_path))
    assert code == 2, found
    assert [f["Rule"]["Id"] for f in found] == ["E9001"]  # type: ignore[index]
    assert found[0]["Location"]["Start"]["LineNumber"] > ROLE.count("\n")  # type: ignore[index]
    (tmp_path / "main.tf").write_text(
        ROLE + _site_text(site, attribute, f"aws_iam_instance_profile.host.{attr}")
    )
    code, found = lint_json(capsys, str(tmp_path))
    codes = [f["Rule"]["Id"] for f in found]  # type: ignore[index]
    if (site.role_name_rule and not site.role_name_rule_when) or site.profile_name_prefix:
        # The service's naming rule: the profile "host-profile" and role "host" break it (E9008).
        assert code == 2
        assert set(codes) == {"E9008"}
    else:
        assert (code, codes) == (0, [])


def test_an_unreadable_file_is_one_located_error_and_the_others_are_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.tf").write_text('resource "aws_instance" "x" {\n  ami = \n}\n')
    good = tmp_path / "seed"
    good.mkdir()
    (good / "main.tf").write_text((SEED / "main.tf").read_text())
    code, found = lint_json(capsys, str(tmp_path))
    assert code == 2
    assert sorted((f["Rule"]["Id"], Path(str(f["Filename"])).name) for f in found) == [
        ("E0000", "bad.tf"),
        ("E9001", "main.tf"),
    ]
    bad = next(f for f in found if f["Rule"]["Id"] == "E0000")
    assert bad["Location"]["Start"]["LineNumber"] in (2, 3)  # type: ignore[index]


def test_lint_of_a_cloudformation_template_does_not_import_the_terraform_parser(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    code = (
        "import sys\nfrom profile_expand.cli.entry import main\n"
        f"rc = main(['lint', {str(template)!r}])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('hcl2', 'lark') or m.startswith('profile_expand.terraform')]\n"
        "print(rc, loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0 []"


@pytest.mark.parametrize("output", [None, "parseable"])
def test_terraform_alone_prints_what_cfn_lint_prints_without_loading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str | None
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.tf").write_text('resource "aws_instance" "x" {\n  ami = \n}\n')
    arguments = ["lint", str(SEED), str(broken), *(["--format", output] if output else [])]
    light = main(arguments), capsys.readouterr().out
    # --regions: an option of cfn-lint's own, so this call goes through cfn-lint's formatter.
    through_cfn_lint = main([*arguments, "--regions", "us-east-1"]), capsys.readouterr().out
    assert light == through_cfn_lint
    assert light[0] == 2 and "E9001" in light[1] and "E0000" in light[1]


def test_terraform_alone_does_not_import_cfn_lint() -> None:
    code = (
        "import sys\nfrom profile_expand.cli.entry import main\n"
        f"rc = main(['lint', {str(SEED)!r}, '--non-zero-exit-code', 'none'])\n"
        "print(rc, [m for m in sys.modules if m.split('.')[0] == 'cfnlint'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 []"


def test_the_pre_commit_hook_and_the_action_take_terraform() -> None:
    import re

    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert all(re.search(hook["files"], name) for name in ("main.tf", "stack/main.tf.json", "t.yaml"))
    assert any(dependency.startswith("python-hcl2") for dependency in hook["additional_dependencies"])
    assert "[sam,sarif,terraform]" in (ROOT / "action.yml").read_text()
