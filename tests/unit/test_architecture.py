"""Import contracts: the lint rules read the core's model; they never walk sites or judge roles themselves.

cfn-lint rule files may import only cfn-lint and the shared rule support; the support module may import
only the core's model (analyse, Model) and the CloudFormation spellings. A rule that wanted to find
sites or recognise a role on its own would have to import sites, roles or model helpers, and fails here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import profile_expand.lint.rules

RULES = Path(profile_expand.lint.rules.__file__).parent
SUPPORT = "profile_expand.lint.rules._support"
# What each kind of file may import from this package (anything from the standard library is allowed).
RULE_FILE_ALLOWS = {"cfnlint.rules", "cfnlint.template", SUPPORT}
SUPPORT_ALLOWS = {
    "cfnlint.rules",
    "cfnlint.template",
    # The rules apply the override spec to cfn-lint's schemas themselves (no path in a .cfnlintrc).
    "cfnlint.schema",
    "cfnlint.schema._exceptions",
    "profile_expand.lint.override_spec",
    "profile_expand.core.cfn",
    "profile_expand.core.pipeline",
    "profile_expand.core.model",
    # Findings are the model's vocabulary; the chain gives SAM's translation, what the macro receives.
    "profile_expand.core.errors",
    "profile_expand.lint.chain",
}
PACKAGE_ALLOWS = {SUPPORT, *(f"profile_expand.lint.rules.{p.stem}" for p in RULES.glob("*.py"))}


# Packages whose names a `from P import m` may take as modules.
PACKAGES = {
    "profile_expand",
    *(f"profile_expand.{p}" for p in ("core", "macro", "guard", "lint", "cli", "lint.rules")),
}


def imported(source: str) -> set[str]:
    """Every module a source file imports, as dotted names (`from a import b` gives a.b when b is a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in PACKAGES:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def violations(source: str, allowed: set[str]) -> set[str]:
    third_party = {
        name
        for name in imported(source)
        if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"
    }
    return third_party - allowed


@pytest.mark.parametrize("path", sorted(RULES.glob("[!_]*.py")), ids=lambda p: p.name)
def test_rule_files_import_only_cfn_lint_and_the_support_module(path: Path) -> None:
    allowed = PACKAGE_ALLOWS if path.name == "__init__.py" else RULE_FILE_ALLOWS
    assert violations(path.read_text(), allowed) == set()


def test_the_support_module_reads_only_the_model() -> None:
    assert violations((RULES / "_support.py").read_text(), SUPPORT_ALLOWS) == set()


def test_the_rule_support_files_are_the_only_private_modules() -> None:
    # A second private helper beside _support would be a place for a second walk of the sites.
    assert sorted(p.name for p in RULES.glob("_*.py")) == ["__init__.py", "_support.py"]


@pytest.mark.parametrize(
    "source",
    [
        "from profile_expand.core.sites import containers\n",
        "from profile_expand.core import roles\n",
        "import profile_expand.core.model\n",
        "from profile_expand.core.roles import role_mention\n",
    ],
)
def test_the_contract_catches_a_rule_that_walks_sites_itself(source: str) -> None:
    assert violations(source, RULE_FILE_ALLOWS)


TERRAFORM = Path(profile_expand.lint.rules.__file__).parents[2] / "terraform"


@pytest.mark.parametrize("path", sorted(TERRAFORM.glob("*.py")), ids=lambda p: p.name)
def test_the_terraform_front_end_imports_only_the_core_and_its_parser(path: Path) -> None:
    """profile_expand/terraform is a front end: the core, itself, and python-hcl2 (with lark) alone."""
    names = {
        name
        for name in imported(path.read_text())
        if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"
    }
    allowed = ("profile_expand.core", "profile_expand.terraform", "hcl2", "lark")
    assert {name for name in names if not name.startswith(allowed)} == set()
