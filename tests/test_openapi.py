"""/openapi.json is held to the code: routes, request models, real answers; schemathesis finds no 5xx."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tracker.schemas import CheckinIn, ConversationIn
from tracker.web.openapi import CheckinOut, Error, document


def flask_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule).replace("{conversation_id}", "{id}")


def test_every_json_route_is_documented_and_every_documented_route_exists(app):
    doc = app.test_client().get("/openapi.json").json
    documented = {
        (path, method.upper())
        for path, ops in doc["paths"].items()
        for method in ops
        if method != "parameters"
    }
    served = {
        (flask_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule == "/healthz"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served <= documented, f"undocumented: {served - documented}"
    assert documented <= served, f"documented but not served: {documented - served}"
    # The README's route table is checked against what is served in tests/test_readme.py.


def test_request_bodies_are_the_validating_models(app):
    doc = app.test_client().get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    for path, model in (("/api/checkins", CheckinIn), ("/api/conversations", ConversationIn)):
        ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert ref == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert set(schemas[model.__name__]["properties"]) == set(model.model_fields)
        assert set(schemas[model.__name__].get("required", [])) == {
            name for name, f in model.model_fields.items() if f.is_required()
        }


def test_real_checkin_answers_match_the_documented_schemas(client, event):
    code = event["stations"]["booth"]["code"]
    ok = client.post("/api/checkins", json={"station": code})
    assert ok.status_code == 201
    CheckinOut.model_validate(ok.json)
    responses = document()["paths"]["/api/checkins"]["post"]["responses"]
    for body, status in (({"station": "nope"}, 404), ({"station": 1}, 400)):
        r = client.post("/api/checkins", json=body)
        assert r.status_code == status and str(status) in responses
        Error.model_validate(r.json)


def test_document_is_valid_openapi():
    from schemathesis.openapi import from_dict

    schema = from_dict(document())
    ops = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert ("POST", "/api/checkins") in ops and ("PUT", "/api/conversations/{id}") in ops
    assert len(ops) == 7


OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in document()["paths"].items()
    for method in ops
    if method != "parameters"
]


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_makes_a_server_error(app, client, event, label):
    """Schemathesis generates valid and invalid requests from the document, in-process (WSGI).

    Random station codes would only ever meet a 404, so half the cases carry a real one, and
    every case carries the cookie of a checked-in attendee: the handlers get past the door.
    """
    code = event["stations"]["booth"]["code"]
    assert client.post("/api/checkins", json={"station": code}).status_code == 201
    cookie = {"tracker_attendee": client.get_cookie("tracker_attendee").value}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(), real_station=st.booleans())
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case, real_station):
        if (
            real_station
            and isinstance(case.body, dict)
            and isinstance(case.body.get("station"), str)
        ):
            case.body["station"] = code
        case.call_and_validate(checks=[not_a_server_error], cookies=cookie)

    run()
