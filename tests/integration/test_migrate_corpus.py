"""`profile-expand migrate` on real templates: every migrated file parses, keeps its comments and every byte
outside migrate's edits, and expands to exactly the original (any mismatch is a bug).

Reads ../shared/corpus/originals when it is beside the project, and any folder named by
$PROFILE_EXPAND_EXTRA_CORPUS (templates that cannot be committed). `make migrate-figures` prints the counts.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "migrate_figures.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migrate_figures", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["migrate_figures"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


FIGURES = _load()
TEMPLATES = FIGURES.templates(FIGURES.default_folders())

pytestmark = pytest.mark.skipif(not TEMPLATES, reason="no corpus folder beside the project")


@pytest.mark.parametrize("path", TEMPLATES, ids=[f"{p.parent.name}/{p.name}" for p in TEMPLATES])
def test_migrate_changes_nothing_deployed_and_nothing_unedited(path: Path) -> None:
    survey = FIGURES.survey(path)
    assert survey.problems == []
    assert survey.converted + sum(survey.kept.values()) == survey.profiles


def test_the_figures_count_every_profile_of_the_corpus() -> None:
    surveys = [FIGURES.survey(path) for path in TEMPLATES]
    text = FIGURES.report(surveys)
    assert "**mismatches: 0**" in text
    converted = sum(s.converted for s in surveys)
    assert f"**converted {converted}**" in text
    assert converted > 0, "the corpus has convertible profiles: migrate converted none"


ORIGINALS = [path for path in TEMPLATES if path.parent.name == "originals"]


@pytest.mark.skipif(not ORIGINALS, reason="no ../shared/corpus/originals beside the project")
def test_the_migrate_page_row_of_the_corpus_originals_is_what_migrate_does() -> None:
    surveys = [FIGURES.survey(path) for path in ORIGINALS]
    keep = [FIGURES.survey(path, keep_references=True) for path in ORIGINALS]
    profiles = sum(s.profiles for s in surveys)
    converted, sites = sum(s.converted for s in surveys), sum(s.sites for s in surveys)
    with_profiles = sum(1 for s in surveys if s.profiles)
    row = (
        f"| `../shared/corpus/originals` (JSON) | {len(surveys)} | {with_profiles} | {profiles} | "
        f"{converted} ({sites}) | {profiles - converted} | 0 | "
        f"{sum(s.converted for s in keep)} ({sum(s.sites for s in keep)}) |"
    )
    readme = (SCRIPT.parents[1] / "docs" / "migrate.md").read_text()
    assert row in readme
