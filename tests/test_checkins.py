"""Check-ins: the domain rules and POST /api/checkins through Flask's test client."""

from __future__ import annotations

import io
import uuid

import pytest
from pydantic import TypeAdapter

from tracker.checkins import record as checkins
from tracker.contract.responses import CheckinOut
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.people import attendees

from .conftest import DEMO_EVENT
from .helpers import rows

ID = "6a1f0e4e-0b5c-4b4f-9d7e-0d4f2a6d3c11"


def post(client, code: str, checkin_id: str | None = None, **headers):
    body = {"station": code} if checkin_id is None else {"station": code, "id": checkin_id}
    return client.post("/api/checkins", json=body, headers=headers)


# --- the domain ---------------------------------------------------------------------------


def test_first_checkin_counts_and_repeats_are_stored_uncounted(db, event):
    code = event["stations"]["booth"]["code"]
    first = checkins.check_in(db, event, code, None)
    assert first.created and first.new_identity and first.checkin["counted"] is True
    token = first.attendee["token"]
    again = checkins.check_in(db, event, code, token)
    assert again.created and not again.new_identity and again.checkin["counted"] is False
    (counted, repeats) = db.execute(
        "SELECT checkins, repeat_checkins FROM station_totals WHERE station_id = ?",
        [event["stations"]["booth"]["id"]],
    ).fetchone()
    assert (counted, repeats) == (1, 1)
    assert checkins.count(db) == 2


def test_same_id_returns_the_stored_record_and_changes_nothing(db, event):
    code = event["stations"]["booth"]["code"]
    first = checkins.check_in(db, event, code, None, ID)
    before = rows(db)
    again = checkins.check_in(db, event, code, first.attendee["token"], ID)
    assert not again.created and again.checkin == first.checkin
    assert rows(db) == before


@pytest.mark.parametrize("other", ["station", "person"])
def test_same_id_for_another_station_or_person_is_a_conflict(db, event, other):
    booth, demo = event["stations"]["booth"]["code"], event["stations"]["demo"]["code"]
    first = checkins.check_in(db, event, booth, None, ID)
    checkins.check_in(db, event, demo, first.attendee["token"])  # no longer a lone first check-in
    someone = checkins.check_in(db, event, demo, None).attendee["token"]
    before = rows(db)
    with pytest.raises(checkins.IdConflict):
        if other == "station":
            checkins.check_in(db, event, demo, first.attendee["token"], ID)
        else:
            checkins.check_in(db, event, booth, someone, ID)
    assert rows(db) == before


def test_a_lost_first_answer_retried_without_cookie_gets_its_identity_back(db, event):
    code = event["stations"]["booth"]["code"]
    first = checkins.check_in(db, event, code, None, ID)
    retry = checkins.check_in(db, event, code, None, ID)
    assert not retry.created and retry.new_identity
    assert retry.attendee["token"] == first.attendee["token"]
    assert db.execute("SELECT count(*) FROM attendees").fetchone()[0] == 1


def test_unknown_or_inactive_station_stores_nothing(db, event):
    before = rows(db)
    with pytest.raises(events.UnknownStation):
        checkins.check_in(db, event, "no-such-code", None)
    booth = event["stations"]["booth"]
    eventsetup.set_active(db, "stations", booth["id"], False)
    with pytest.raises(events.UnknownStation):
        checkins.check_in(db, event, booth["code"], None)
    assert rows(db) == before


def test_passport_lists_stations_in_visit_order_with_visits(db, event):
    s = event["stations"]
    token = checkins.check_in(db, event, s["stories"]["code"], None).attendee["token"]
    checkins.check_in(db, event, s["booth"]["code"], token)
    checkins.check_in(db, event, s["stories"]["code"], token)
    passport = checkins.passport(db, attendees.by_token(db, token))
    assert [(p["slug"], p["location"], p["visits"]) for p in passport["stations"]] == [
        ("stories", "Austin", 2),
        ("booth", "Cork", 1),
    ]
    assert passport["visited"] == 2 and len(passport["badge"]) == 6


# --- the HTTP API -------------------------------------------------------------------------


def test_api_first_checkin_is_201_sets_cookie_and_answers_everything(client, event):
    r = post(client, event["stations"]["booth"]["code"], ID)
    assert r.status_code == 201
    TypeAdapter(CheckinOut).validate_python(r.json)  # the documented shape, exactly
    assert r.json["counted"] is True and r.json["checkin"]["id"] == ID
    assert r.json["checkin"]["station"] == {
        "slug": "booth",
        "name": "Main booth",
        "location": "Cork",
        "location_slug": "cork",
    }
    assert r.json["progress"] == {
        "total": 1,
        "goal": 20,
        "checkins": 1,
        "conversations": 0,
        "percent": 5.0,
    }
    assert event["stations"]["booth"]["code"] not in r.get_data(as_text=True)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("tracker_attendee=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Max-Age=" in cookie


def test_api_repeat_id_is_200_with_the_same_record(client, event, db):
    code = event["stations"]["booth"]["code"]
    first = post(client, code, ID)
    before = rows(db)
    again = post(client, code, ID)
    assert again.status_code == 200 and again.json["checkin"] == first.json["checkin"]
    assert "Set-Cookie" not in again.headers
    assert rows(db) == before


def test_api_second_scan_is_stored_but_not_counted(client, event):
    code = event["stations"]["booth"]["code"]
    post(client, code)
    r = post(client, code)
    assert r.status_code == 201 and r.json["counted"] is False
    assert r.json["progress"]["total"] == 1
    assert r.json["passport"]["stations"][0]["visits"] == 2
    other = post(client, event["stations"]["demo"]["code"])
    assert other.json["counted"] is True and other.json["passport"]["visited"] == 2


def test_api_same_id_other_station_is_422(client, event, db):
    post(client, event["stations"]["booth"]["code"], ID)
    post(client, event["stations"]["stories"]["code"])
    before = rows(db)
    r = post(client, event["stations"]["demo"]["code"], ID)
    assert r.status_code == 422 and r.json["error"] == "id_conflict"
    assert rows(db) == before


def test_secure_cookie_under_https(app, client, event):
    app.config["SESSION_COOKIE_SECURE"] = True
    r = post(client, event["stations"]["booth"]["code"])
    assert "; Secure" in r.headers["Set-Cookie"]


def test_a_tampered_cookie_is_a_new_attendee_not_an_error(client, event, db):
    client.set_cookie("tracker_attendee", "forged.value")
    r = post(client, event["stations"]["booth"]["code"])
    assert r.status_code == 201 and "tracker_attendee=" in r.headers["Set-Cookie"]


BAD = [
    ("not json", {"data": "station=x", "content_type": "application/x-www-form-urlencoded"}, 415),
    ("broken json", {"data": '{"station": ', "content_type": "application/json"}, 400),
    ("a list", {"json": ["station"]}, 400),
    ("missing station", {"json": {}}, 400),
    ("empty station", {"json": {"station": ""}}, 400),
    ("station not a string", {"json": {"station": 42}}, 400),
    ("bad uuid", {"json": {"station": "CODE", "id": "not-a-uuid"}}, 400),
    ("unknown field", {"json": {"station": "CODE", "admin": True}}, 400),
    ("huge body", {"json": {"station": "CODE", "id": ID, "pad": "x" * 5000}}, 413),
    ("unknown station", {"json": {"station": "nope-nope"}}, 404),
    (
        "foreign origin",
        {"json": {"station": "CODE"}, "headers": {"Origin": "https://evil.example"}},
        403,
    ),
]


@pytest.mark.parametrize("kwargs,status", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_a_clear_json_error_and_stores_nothing(client, event, db, kwargs, status):
    code = event["stations"]["booth"]["code"]
    if (
        "json" in kwargs
        and isinstance(kwargs["json"], dict)
        and kwargs["json"].get("station") == "CODE"
    ):
        kwargs = {**kwargs, "json": {**kwargs["json"], "station": code}}
    before = rows(db)
    r = client.post("/api/checkins", **kwargs)
    assert r.status_code == status, r.json
    assert set(r.json) == {"error", "detail"} and r.json["detail"]
    assert "Traceback" not in r.get_data(as_text=True)
    assert "Set-Cookie" not in r.headers
    assert rows(db) == before


class _DroppedConnection(io.BytesIO):
    """A phone's connection that breaks while the body is on its way."""

    def read(self, *_args) -> bytes:
        raise ConnectionResetError("connection reset by peer")


def test_a_body_cut_off_by_a_broken_connection_is_400_not_a_server_error(client, db):
    before = rows(db)
    r = client.post(
        "/api/checkins",
        input_stream=_DroppedConnection(),
        content_length=60,
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json["error"] == "invalid_body"
    assert "cut off" in r.json["detail"] and rows(db) == before


def test_validation_names_each_bad_field(client):
    r = client.post("/api/checkins", json={"station": 1, "id": "x", "extra": 1})
    assert sorted(p["field"] for p in r.json["detail"]) == ["extra", "id", "station"]


# --- rate limits --------------------------------------------------------------------------


@pytest.fixture
def limited_app(make_app):
    return make_app(
        RATELIMIT_ENABLED=True,
        CHECKIN_LIMIT="3 per minute",
        HOLD_NEW_IDENTITIES="1 per minute",
        STORY_LIMIT="3 per minute",
    )


def test_rate_limit_per_attendee_never_per_address(limited_app, event, db):
    code = event["stations"]["booth"]["code"]
    phone = limited_app.test_client()
    # The first check-in has no cookie yet; then 3 per minute per phone.
    answers = [post(phone, code).status_code for _ in range(5)]
    assert answers == [201, 201, 201, 201, 429]
    r = post(phone, code)
    assert r.status_code == 429 and r.json["error"] == "too_many_requests"
    assert "Too many check-ins from this phone" in r.json["detail"]
    assert checkins.count(db) == 4
    # Other phones behind the same NAT are not held back by the first one's limit, nor refused
    # for sharing its address: past the address's allowance (1 new phone a minute here) they
    # are answered as usual and held (tests/test_held.py).
    statuses = [post(limited_app.test_client(), code).status_code for _ in range(3)]
    assert statuses == [201, 201, 201], statuses
    assert checkins.count(db) == 4 + 3


def test_routes_with_decorator_limits_still_check_them(limited_app, event):
    """Flask-Limiter's idle per-request hook is gone; the routes that carry a limit keep it."""
    code = event["stations"]["booth"]["code"]
    phone = limited_app.test_client()
    phone.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert post(phone, code).status_code == 201
    story = {"station": code, "story": "Loved the demo", "nps": 9}
    answers = [
        phone.post("/api/conversations", json={**story, "id": str(uuid.uuid4())}).status_code
        for _ in range(4)
    ]
    assert answers == [201, 201, 201, 429]  # the attendee's limit: 3 per minute here
    limited_app.config["ADMIN_PASSWORD"] = "a long organizer password"
    limited_app.config["WTF_CSRF_ENABLED"] = False
    tries = []
    for _ in range(11):  # a new device each time: the address's limit, not the device's waits
        organizer = limited_app.test_client(use_cookies=False)
        organizer.environ_base["REMOTE_ADDR"] = "10.9.8.6"
        r = organizer.post("/admin/login", data={"name": "admin", "password": "wrong"})
        tries.append(r.status_code)
    assert tries == [401] * 10 + [429]


def test_a_code_or_cookie_of_another_event_is_not_this_events(db, event):
    """One database may hold several events: a station or a phone of another one does not count."""
    other = eventsetup.load_event(db, eventfile.read_event_file(DEMO_EVENT)).event
    foreign_code = events.stations(db, other["id"])[0]["code"]
    foreign_phone = attendees.create(db, other["id"])
    with pytest.raises(events.UnknownStation):
        checkins.check_in(db, event, foreign_code, None)
    result = checkins.check_in(
        db, event, event["stations"]["booth"]["code"], foreign_phone["token"]
    )
    assert result.new_identity and result.attendee["id"] != foreign_phone["id"]
    assert attendees.by_token(db, foreign_phone["token"], event["id"]) is None
    assert attendees.by_token(db, foreign_phone["token"], other["id"])["id"] == foreign_phone["id"]
