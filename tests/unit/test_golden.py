"""Golden cases: tests/golden/input/<case>.yaml expands to output/<case>.json exactly.

Regenerate with `make golden` (scripts/regenerate_golden.py) and review the diff.
"""

from __future__ import annotations

import copy
import json

import pytest

from profile_expand import InvalidTemplateError, expand
from profile_expand.core.sites import SITES, Site
from tests.cfnlint_support import lint_errors
from tests.support import GOLDEN_INPUT, GOLDEN_OUTPUT, dump_json, golden_cases, load_template

CASES = golden_cases()
SUCCESS_CASES = [case for case in CASES if not case.startswith("error_")]
ERROR_CASES = [case for case in CASES if case.startswith("error_")]


def _expected(case: str) -> str:
    return (GOLDEN_OUTPUT / f"{case}.json").read_text()


def test_cases_are_discovered() -> None:
    assert len(SUCCESS_CASES) >= len(SITES) and ERROR_CASES


@pytest.mark.parametrize("site", SITES, ids=lambda site: site.slug)
def test_every_site_row_has_a_golden_case(site: object) -> None:
    slug = site.slug
    assert (GOLDEN_INPUT / f"site_{slug}.yaml").exists(), f"add tests/golden/input/site_{slug}.yaml"


@pytest.mark.parametrize("site", [s for s in SITES if len(s.accepts) > 1], ids=lambda site: site.slug)
def test_every_site_accepting_another_form_has_a_form_case(site: Site) -> None:
    """Profile Form writes the form the property also accepts: one golden case per such site."""
    slug = site.slug
    case = GOLDEN_INPUT / f"form_{slug}.yaml"
    assert case.exists(), f"add tests/golden/input/form_{slug}.yaml"
    assert "Form:" in case.read_text()


@pytest.mark.parametrize("case", SUCCESS_CASES)
def test_golden_output(case: str) -> None:
    template = load_template(GOLDEN_INPUT / f"{case}.yaml")
    pristine = copy.deepcopy(template)
    assert dump_json(expand(template)) == _expected(case)
    assert template == pristine, "expand() modified its input"


@pytest.mark.parametrize("case", ERROR_CASES)
def test_golden_error(case: str) -> None:
    template = load_template(GOLDEN_INPUT / f"{case}.yaml")
    with pytest.raises(InvalidTemplateError) as raised:
        expand(template)
    assert dump_json({"errorMessage": raised.value.summary}) == _expected(case)


@pytest.mark.parametrize("case", SUCCESS_CASES)
def test_expanding_twice_equals_expanding_once(case: str) -> None:
    once = expand(load_template(GOLDEN_INPUT / f"{case}.yaml"))
    assert expand(once) == once


@pytest.mark.parametrize("case", SUCCESS_CASES)
def test_golden_output_lints_without_errors(case: str) -> None:
    output = json.loads(_expected(case))
    output.pop("Transform", None)  # CloudFormation removes the Transform once it has run
    errors = lint_errors(output)
    if any(site.retired_on and case == f"site_{site.slug}" for site in SITES):
        # OpsWorks was shut down; cfn-lint says so (E3710) and nothing else may be wrong.
        assert errors and all(error.startswith("E3710 ") for error in errors), errors
    else:
        assert errors == []


def test_golden_outputs_have_no_leftover_shorthand() -> None:
    for case in SUCCESS_CASES:
        assert '"IamRole"' not in _expected(case) or case.startswith("untouched_"), case
