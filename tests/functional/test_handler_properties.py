"""The handler's properties over generated templates: every template gets a macro response, never a crash."""

from __future__ import annotations

import copy
import json
import re

from hypothesis import event, given

from profile_expand import expand
from profile_expand.macro.handler import lambda_handler
from tests.oracle import check_expansion
from tests.strategies import PROPERTY_SETTINGS, GeneratedTemplate, templates
from tests.support import FakeLambdaContext, macro_event

CONTEXT = FakeLambdaContext()


@PROPERTY_SETTINGS
@given(templates(allow_errors=True))
def test_the_handler_answers_every_template(generated: GeneratedTemplate) -> None:
    template = generated.template
    before = copy.deepcopy(template)
    response = lambda_handler(macro_event(template, request_id="req-42"), CONTEXT)
    assert json.dumps(template) == json.dumps(before), "the input was modified"
    assert set(response) == {"requestId", "status", "fragment", "errorMessage"}
    assert response["requestId"] == "req-42"
    message = response["errorMessage"]
    event(f"status {response['status']}")
    if response["status"] == "success":
        assert not generated.must_fail, f"expanded a template that cannot work: {generated.error_ids}"
        assert message == ""
        check_expansion(template, response["fragment"])
        assert expand(response["fragment"]) == response["fragment"]
    else:
        assert response["status"] == "failure"
        assert generated.must_fail, f"refused a template that works: {message}"
        assert "internal error" not in message, message
        for lid in generated.error_ids:
            assert re.search(rf"Resource {re.escape(lid)}[,:]", message), f"{lid} not named in: {message}"
        named = [
            lid for lid in template["Resources"] if re.search(rf"Resource {re.escape(lid)}[,:]", message)
        ]
        assert named, f"no resource named in: {message}"
    again = lambda_handler(macro_event(template, request_id="req-42"), CONTEXT)
    assert json.dumps(again) == json.dumps(response), "two runs differ"
