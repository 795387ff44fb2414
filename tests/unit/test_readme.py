"""The README's sites table is generated from SITES; it must not drift (scripts/update_readme.py)."""

from __future__ import annotations

from profile_expand.sites import SITES, sites_markdown
from tests.support import ROOT


def test_readme_sites_table_matches_the_sites_table() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- sites-table:start -->\n", "<!-- sites-table:end -->"
    section = readme[readme.index(start) + len(start) : readme.index(end)]
    assert section == sites_markdown(), "run `python scripts/update_readme.py`"
    assert all(site.resource_type in section for site in SITES)
