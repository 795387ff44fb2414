"""Issue 23: the guard's STACK target no longer blocks a profile named after its role (CDK's pattern)."""

import json

from profile_expand.guard import hook as guard
from tests.functional.test_guard import CountingIam, _payload, _stack_event
from tests.unit.test_same_name_profiles import SAME_NAME_SITES, _same_name


def test_the_same_name_pattern_passes_the_stack_hook_with_its_warning_only() -> None:
    for site in SAME_NAME_SITES.values():
        template = json.dumps(_same_name(site))
        verdict = guard.evaluate(_stack_event(), CountingIam(), _payload(template))
        assert verdict.response["hookStatus"] == "SUCCESS", verdict.response
