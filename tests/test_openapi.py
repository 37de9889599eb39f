"""/openapi.json is held to the code: routes, request models, real answers; schemathesis finds no 5xx."""

from __future__ import annotations

import re
import uuid

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tracker.contract.errors import ErrorCode
from tracker.contract.requests import CheckinIn, ConversationIn
from tracker.web.openapi import document

from .helpers import sign_in_session


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


def conforms(answer, status: int, path: str, method: str) -> None:
    """The answer is exactly what the document says this operation answers with this status:
    its schema has additionalProperties false at every level, so a field the code adds and the
    document lacks fails here, and so does one the document promises and the code leaves out."""
    doc = document()
    responses = doc["paths"][path][method]["responses"]
    assert str(answer.status_code) in responses, (path, method, answer.status_code)
    schema = responses[str(answer.status_code)]["content"]["application/json"]["schema"]
    assert answer.status_code == status, answer.json
    jsonschema_rs.validate({**schema, "components": doc["components"]}, answer.json)


def test_every_real_answer_matches_the_documented_schema(client, event, db):
    code = event["stations"]["booth"]["code"]
    checkin = client.post("/api/checkins", json={"station": code})
    conforms(checkin, 201, "/api/checkins", "post")
    conforms(client.post("/api/checkins", json={"station": "nope"}), 404, "/api/checkins", "post")
    conforms(client.post("/api/checkins", json={"station": 1}), 400, "/api/checkins", "post")
    badge = checkin.json["passport"]["badge"]
    story = {"id": str(uuid.uuid4()), "station": code, "story": "Loved it", "nps": 9}
    conforms(client.post("/api/conversations", json=story), 201, "/api/conversations", "post")
    with client.session_transaction() as session:
        sign_in_session(session, db, event["stations"]["booth"]["id"])
    staff_story = {"id": str(uuid.uuid4()), "story": "Wants a demo", "attendee_badge": badge}
    path = "/api/conversations/{id}"
    put = client.put(f"/api/conversations/{staff_story['id']}", json=staff_story)
    conforms(put, 201, path, "put")
    conforms(client.get(f"/api/conversations/{staff_story['id']}"), 200, path, "get")
    conforms(client.get(f"/api/badges/{badge}"), 200, "/api/badges/{badge}", "get")
    conforms(client.get("/api/badges/ACD3F4"), 404, "/api/badges/{badge}", "get")
    conforms(client.get("/api/badges/0"), 400, "/api/badges/{badge}", "get")
    conforms(client.get("/api/scoreboard"), 200, "/api/scoreboard", "get")
    located = client.get("/api/scoreboard?location=" + event["stations"]["booth"]["location_slug"])
    conforms(located, 200, "/api/scoreboard", "get")
    conforms(client.get("/healthz"), 200, "/healthz", "get")


def test_every_error_code_is_in_the_documented_enum(client):
    codes = set(document()["components"]["schemas"]["ErrorCode"]["enum"])
    assert codes == {code.value for code in ErrorCode}
    for answer in (
        client.get("/api/nothing-here"),
        client.post("/api/checkins", data="x", content_type="application/json"),
        client.delete("/api/checkins"),
        client.post("/api/checkins", json={"station": "x" * 5000}),
    ):
        assert answer.json["error"] in codes, answer.json


def test_document_is_valid_openapi():
    from schemathesis.openapi import from_dict

    schema = from_dict(document())
    ops = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert ("POST", "/api/checkins") in ops and ("PUT", "/api/conversations/{id}") in ops
    assert len(ops) == 12  # 7, the three of the node API, GET /api/insights and /api/themes


OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in document()["paths"].items()
    for method in ops
    if method != "parameters"
]


# Every check schemathesis has (`--checks all`). A request valid by the schema may still be
# refused for what the event is (an unknown topic, a story-less conversation outside quick
# mode, an attendee's story without its station): 422, documented, never 400.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_makes_a_server_error(app, client, event, label):
    """Schemathesis generates valid and invalid requests from the document, in-process (WSGI).

    Random station codes would only ever meet a 404, so half the cases carry a real one, and
    every case carries the cookie of a checked-in attendee: the handlers get past the door.
    """
    code = event["stations"]["booth"]["code"]
    assert client.post("/api/checkins", json={"station": code}).status_code == 201
    cookie = {"tracker_attendee": client.get_cookie("tracker_attendee").value}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)
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
        case.call_and_validate(cookies=cookie)

    run()
