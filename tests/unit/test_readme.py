"""The README's sites and rules tables are generated (SITES, the rules' metadata); they must not drift
(scripts/update_readme.py)."""

from __future__ import annotations

from profile_expand.core.sites import SITES, sites_markdown
from profile_expand.lint.rules import RULES, rules_markdown
from tests.support import ROOT


def test_readme_sites_table_matches_the_sites_table() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- sites-table:start -->\n", "<!-- sites-table:end -->"
    section = readme[readme.index(start) + len(start) : readme.index(end)]
    assert section == sites_markdown(), "run `python scripts/update_readme.py`"
    assert all(site.resource_type in section for site in SITES)


def test_readme_rules_table_matches_the_rules() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- rules-table:start -->\n", "<!-- rules-table:end -->"
    section = readme[readme.index(start) + len(start) : readme.index(end)]
    assert section == rules_markdown(), "run `python scripts/update_readme.py`"
    assert all(f"**{rule.id}**" in section for rule in RULES)


def test_the_terraform_page_shows_the_sites_table() -> None:
    """docs/terraform.md's table of Terraform attributes is the sites table's (terraform/table.py)."""
    from profile_expand.terraform.table import terraform_sites_markdown

    page = (ROOT / "docs" / "terraform.md").read_text()
    shown = page.split("<!-- terraform-sites:begin -->\n")[1].split("<!-- terraform-sites:end -->")[0]
    assert shown == terraform_sites_markdown()
