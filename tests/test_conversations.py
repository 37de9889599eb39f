"""Conversations: the domain (record, edit, day list, follow-ups) and POST/PUT /api/conversations."""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from tracker.contract.requests import ConversationIn
from tracker.followups import changes as followups
from tracker.followups import queue as followup_queue
from tracker.people import attendees
from tracker.store import db as dbm
from tracker.stories import edits as conversation_edits
from tracker.stories import record as conversations
from tracker.stories.record import Author
from tracker.web.identity import ATTENDEE_COOKIE

from .helpers import add_checkins, sign_in_session

# ---------------------------------------------------------------- helpers and fixtures


def body(**fields) -> dict:
    return {"id": str(uuidlib.uuid4()), "story": "Loved the demo", **fields}


def totals(db, station_id: int) -> dict:
    return dbm.one(db.execute("SELECT * FROM station_totals WHERE station_id = ?", [station_id]))


def count(db) -> int:
    return db.execute("SELECT count(*) FROM conversations").fetchone()[0]


def check_in(db, attendee: dict, station_id: int) -> None:
    add_checkins(db, station_id, attendee_id=attendee["id"], counted=True)


@pytest.fixture
def staff_client(client, booth, db):
    """A test client signed in to the booth as Ann."""
    with client.session_transaction() as session:
        sign_in_session(session, db, booth["id"])
    return client


@pytest.fixture
def attendee(db, event) -> dict:
    return attendees.create(db, event["id"])


@pytest.fixture
def attendee_client(app, attendee):
    """A fresh client carrying the attendee's signed cookie."""
    c = app.test_client()
    c.set_cookie(
        ATTENDEE_COOKIE, URLSafeSerializer(app.secret_key, salt="attendee").dumps(attendee["token"])
    )
    return c


def post(c, payload, **headers):
    return c.post("/api/conversations", json=payload, headers=headers)


# ---------------------------------------------------------------- domain


def test_record_keeps_device_and_server_time_and_counts_once(db, event, booth, staff_author):
    captured = datetime.now(UTC) - timedelta(minutes=5)
    data = ConversationIn(**body(nps=9, topics=["pricing"], captured_at=captured.isoformat()))
    before = totals(db, booth["id"])
    rec, created = conversations.record(db, event, data, staff_author)
    assert created
    assert rec["id"] == str(data.id)
    assert rec["reference"].startswith("T-") and int(rec["reference"][2:]) > 1000
    assert rec["captured_at"] == dbm.iso(captured)
    assert rec["received_at"] > rec["captured_at"]
    assert rec["topics"] == ["Pricing"]  # the event's own spelling
    assert rec["staff_name"] == "Ann" and rec["source"] == "staff"
    again, created_again = conversations.record(db, event, data, staff_author)
    assert not created_again and again == rec
    after = totals(db, booth["id"])
    assert after["conversations"] == before["conversations"] + 1
    assert after["promoters"] == before["promoters"] + 1


def test_same_id_from_another_author_is_a_conflict_and_changes_nothing(db, event, staff_author):
    data = ConversationIn(**body())
    conversations.record(db, event, data, staff_author)
    other = Author("staff", event["stations"]["demo"]["id"], staff_name="Bob")
    with pytest.raises(conversations.IdConflict):
        conversations.record(db, event, ConversationIn(**body(id=str(data.id))), other)
    assert count(db) == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"attendee_badge": "XXXXXX"}, conversations.UnknownBadge),
        ({"topics": ["Weather"]}, conversations.UnknownTopic),
    ],
)
def test_invalid_references_store_nothing(db, event, staff_author, fields, error):
    with pytest.raises(error):
        conversations.record(db, event, ConversationIn(**body(**fields)), staff_author)
    assert count(db) == 0


def test_badge_ties_conversation_to_attendee_forgiving_case_and_dashes(
    db, event, staff_author, attendee
):
    typed = attendee["badge"][:3].lower() + "-" + attendee["badge"][3:]
    rec, _ = conversations.record(
        db, event, ConversationIn(**body(attendee_badge=typed)), staff_author
    )
    assert rec["attendee_badge"] == attendee["badge"]


def test_edit_by_author_updates_nps_totals_and_status(db, event, booth, staff_author):
    data = ConversationIn(**body(nps=3))
    conversations.record(db, event, data, staff_author)
    edited = conversation_edits.edit(
        db,
        event,
        ConversationIn(
            **body(
                id=str(data.id),
                story="Changed",
                nps=10,
                follow_up=True,
                contact="a@b.c",
                owner="Zoe",
            )
        ),
        staff_author,
    )
    assert edited["story"] == "Changed" and edited["status"] == "open" and edited["updated_at"]
    t = totals(db, booth["id"])
    assert (t["conversations"], t["promoters"], t["detractors"]) == (1, 1, 0)


def test_edit_refused_for_other_author_and_after_the_day(db, event, staff_author):
    data = ConversationIn(**body(story="Original"))
    rec, _ = conversations.record(db, event, data, staff_author)
    other = Author("staff", event["stations"]["demo"]["id"])
    change = ConversationIn(**body(id=str(data.id), story="Hijacked"))
    with pytest.raises(conversations.NotAuthor):
        conversation_edits.edit(db, event, change, other)
    tomorrow = dbm.iso(datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(conversations.NoLongerEditable):
        conversation_edits.edit(db, event, change, staff_author, now=tomorrow)
    assert conversations.get(db, rec["id"])["story"] == "Original"


def test_for_station_lists_the_local_day_only(db, event, booth, staff_author):
    today = ConversationIn(**body(story="today"))
    yesterday = ConversationIn(
        **body(story="yesterday", captured_at=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    )
    conversations.record(db, event, today, staff_author)
    conversations.record(db, event, yesterday, staff_author)
    listed = conversations.for_station(db, booth["id"], "Europe/Dublin")
    assert [r["story"] for r in listed] == ["today"]
    assert listed[0]["editable"] is True


def test_follow_ups_move_forward_only_and_list_with_age(db, event, staff_author):
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    first = ConversationIn(
        **body(follow_up=True, contact="x@y.z", owner="Zoe", captured_at=two_hours_ago.isoformat())
    )
    second = ConversationIn(**body(follow_up=True, owner="Max"))
    conversations.record(db, event, first, staff_author)
    conversations.record(db, event, second, staff_author)
    conversations.record(db, event, ConversationIn(**body()), staff_author)  # no follow-up

    listed = followup_queue.follow_ups(db, event["id"], sla_hours=1)
    assert [f["id"] for f in listed] == [str(first.id), str(second.id)]
    assert 1.9 <= listed[0]["age_hours"] <= 2.1 and listed[0]["overdue"] is True
    assert listed[1]["overdue"] is False
    assert [f["owner"] for f in followup_queue.follow_ups(db, event["id"], owner="zoe")] == ["Zoe"]
    assert followup_queue.follow_ups(db, event["id"], location="austin") == []

    followups.set_status(db, event["id"], str(first.id), "acknowledged")
    followups.set_status(db, event["id"], str(first.id), "done")
    with pytest.raises(followups.InvalidTransition):
        followups.set_status(db, event["id"], str(first.id), "open")
    assert [f["id"] for f in followup_queue.follow_ups(db, event["id"], status="done")] == [
        str(first.id)
    ]
    assert [f["id"] for f in followup_queue.follow_ups(db, event["id"])] == [str(second.id)]


def test_status_of_a_conversation_without_follow_up_cannot_be_set(db, event, staff_author):
    data = ConversationIn(**body())
    conversations.record(db, event, data, staff_author)
    with pytest.raises(followups.InvalidTransition):
        followups.set_status(db, event["id"], str(data.id), "done")


# ---------------------------------------------------------------- HTTP, staff


def test_post_201_then_repeat_200_with_the_same_record(staff_client, db, booth):
    payload = body(station=booth["code"], nps=8, topics=["Support"])
    first = post(staff_client, payload)
    assert first.status_code == 201, first.json
    rec = first.json
    for key in ("id", "reference", "status", "received_at", "captured_at"):
        assert key in rec
    assert rec["id"] == payload["id"] and rec["status"] is None
    second = post(staff_client, {**payload, "story": "a retried request"})
    assert second.status_code == 200 and second.json == rec
    assert count(db) == 1


def test_station_may_be_left_out_by_staff(staff_client, db):
    r = post(staff_client, body())
    assert r.status_code == 201 and r.json["station"] == "booth"


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"story": "no id"}, 400, "invalid_body"),
        (body(story="   "), 400, "invalid_body"),
        (body(nps=11), 400, "invalid_body"),
        (body(nps="9"), 400, "invalid_body"),
        (body(extra="field"), 400, "invalid_body"),
        (body(attendee_badge="NOPE99"), 422, "unknown_badge"),
        (body(topics=["Weather"]), 422, "unknown_topic"),
        (body(station="not-a-code"), 404, "unknown_station"),
        ([1, 2], 400, "invalid_body"),
    ],
)
def test_bad_input_is_a_clear_json_error_and_stores_nothing(
    staff_client, db, payload, status, error
):
    r = post(staff_client, payload)
    assert r.status_code == status, r.json
    assert r.json["error"] == error and r.json["detail"]
    assert count(db) == 0


def test_other_stations_code_is_refused_for_staff(staff_client, db, event):
    r = post(staff_client, body(station=event["stations"]["demo"]["code"]))
    assert r.status_code == 403 and r.json["error"] == "wrong_station"
    assert count(db) == 0


def test_refuses_no_session_form_body_and_foreign_origin(client, staff_client, db):
    anonymous = client.application.test_client()
    assert post(anonymous, body()).status_code == 401
    form = staff_client.post("/api/conversations", data={"story": "x", "id": str(uuidlib.uuid4())})
    assert form.status_code == 415 and form.json["error"] == "unsupported_media_type"
    foreign = post(staff_client, body(), Origin="https://evil.example")
    assert foreign.status_code == 403 and foreign.json["error"] == "forbidden_origin"
    assert count(db) == 0


def test_oversized_body_is_413_and_stores_nothing(staff_client, db):
    big = body(story="x" * (10 * 1024 * 1024))
    r = post(staff_client, big)
    assert (
        r.status_code == 413 and r.json["error"] == "body_too_large" and "bytes" in r.json["detail"]
    )
    assert count(db) == 0


def test_html_in_a_story_is_stored_as_text(staff_client, db):
    story = '<script>alert("x")</script><b>bold</b>'
    r = post(staff_client, body(story=story))
    assert r.status_code == 201 and r.json["story"] == story
    assert db.execute("SELECT story FROM conversations").fetchone()[0] == story


def test_put_edits_own_and_get_shows_it(staff_client, db):
    payload = body(nps=2)
    post(staff_client, payload)
    r = staff_client.put(
        f"/api/conversations/{payload['id']}", json={**payload, "story": "Better now", "nps": 9}
    )
    assert r.status_code == 200 and r.json["story"] == "Better now" and r.json["nps"] == 9
    shown = staff_client.get(f"/api/conversations/{payload['id']}")
    assert shown.status_code == 200 and shown.json["editable"] is True
    assert shown.json["story"] == "Better now"


def test_put_refuses_mismatched_id_unknown_id_and_other_station(staff_client, app, db, event):
    payload = body()
    post(staff_client, payload)
    mismatch = staff_client.put(f"/api/conversations/{uuidlib.uuid4()}", json=payload)
    assert mismatch.status_code == 422 and mismatch.json["error"] == "id_mismatch"
    malformed = staff_client.put("/api/conversations/not-a-uuid", json=payload)
    assert malformed.status_code == 400 and malformed.json["error"] == "invalid_id"
    other = app.test_client()
    with other.session_transaction() as session:
        sign_in_session(session, db, event["stations"]["demo"]["id"])
    r = other.put(f"/api/conversations/{payload['id']}", json={**payload, "story": "mine now"})
    assert r.status_code == 409 and r.json["error"] == "id_conflict"
    assert other.get(f"/api/conversations/{payload['id']}").status_code == 403
    assert conversations.get(db, payload["id"])["story"] == payload["story"]


# ---------------------------------------------------------------- HTTP, attendee


def test_attendee_story_at_a_station_they_checked_in_at(attendee_client, db, attendee, booth):
    check_in(db, attendee, booth["id"])
    payload = body(station=booth["code"], nps=10)
    r = post(attendee_client, payload)
    assert r.status_code == 201, r.json
    assert r.json["source"] == "attendee" and r.json["public"] is False
    assert r.json["attendee_badge"] == attendee["badge"]
    assert post(attendee_client, payload).status_code == 200
    public = post(attendee_client, body(station=booth["code"], public=True))
    assert public.json["public"] is True
    assert count(db) == 2


def test_attendee_refused_where_not_checked_in(attendee_client, db, event):
    r = post(attendee_client, body(station=event["stations"]["demo"]["code"]))
    assert r.status_code == 403 and r.json["error"] == "not_checked_in"
    assert count(db) == 0


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"owner": "Zoe", "follow_up": True}, 422, "not_allowed"),
        ({"attendee_badge": "ACDEFG"}, 422, "not_allowed"),
        ({"station": None}, 422, "not_allowed"),
    ],
)
def test_attendee_cannot_name_owner_or_another_badge(
    attendee_client, db, attendee, booth, fields, status, error
):
    check_in(db, attendee, booth["id"])
    r = post(attendee_client, body(**{"station": booth["code"], **fields}))
    assert r.status_code == status and r.json["error"] == error, r.json
    assert count(db) == 0


def test_attendee_can_edit_own_story_but_not_staffs(
    attendee_client, staff_client, db, attendee, booth
):
    check_in(db, attendee, booth["id"])
    mine = body(station=booth["code"])
    post(attendee_client, mine)
    r = attendee_client.put(f"/api/conversations/{mine['id']}", json={**mine, "story": "Edited"})
    assert r.status_code == 200 and r.json["story"] == "Edited"
    staffs = body()
    post(staff_client, staffs)
    r = attendee_client.put(f"/api/conversations/{staffs['id']}", json={**staffs, "story": "no"})
    assert r.status_code == 409 and r.json["error"] == "id_conflict"


def test_a_refused_story_names_each_field_and_problem_like_a_check_in(
    attendee_client, db, attendee, booth
):
    """Both JSON APIs explain a refused body the same way: the pages show field: problem."""
    check_in(db, attendee, booth["id"])
    r = post(attendee_client, body(station=booth["code"], story="x" * 4001, nps=11))
    assert r.status_code == 400 and r.json["error"] == "invalid_body"
    problems = {p["field"]: p["problem"] for p in r.json["detail"]}
    assert set(problems) == {"story", "nps"}
    assert "4000" in problems["story"] and "10" in problems["nps"]


# ---------------------------------------------------------------- PUT: create or replace by id


def put(c, payload):
    return c.put(f"/api/conversations/{payload['id']}", json=payload)


def test_put_creates_then_replaces_and_an_older_revision_changes_nothing(staff_client, db, booth):
    first = body(story="NPS six", nps=6, revision=1)
    r = put(staff_client, first)
    assert r.status_code == 201 and r.json["revision"] == 1 and r.json["nps"] == 6
    assert put(staff_client, first).status_code == 200  # the same version again: no change
    edited = {**first, "story": "NPS nine, and a line more", "nps": 9, "revision": 2}
    r = put(staff_client, edited)
    assert r.status_code == 200 and (r.json["nps"], r.json["revision"]) == (9, 2)
    # The first version's retry arrives late: the edit stays, and the answer says so.
    r = put(staff_client, first)
    assert r.status_code == 200 and (r.json["nps"], r.json["revision"]) == (9, 2)
    stored = conversations.get(db, first["id"])
    assert (stored["story"], stored["nps"], stored["revision"]) == (edited["story"], 9, 2)
    assert count(db) == 1
    assert totals(db, booth["id"])["promoters"] == 1 and totals(db, booth["id"])["detractors"] == 0


def test_put_without_a_revision_is_the_newest_version(staff_client, db):
    first = body(story="first", revision=3)
    put(staff_client, first)
    r = put(staff_client, {k: v for k, v in first.items() if k != "revision"} | {"story": "2nd"})
    assert r.status_code == 200 and r.json["story"] == "2nd" and r.json["revision"] == 4


def test_put_of_another_authors_id_is_409_and_changes_nothing(
    staff_client, attendee_client, db, attendee, booth
):
    check_in(db, attendee, booth["id"])
    theirs = body(station=booth["code"], story="my own words")
    assert put(attendee_client, theirs).status_code == 201
    r = put(staff_client, {**theirs, "story": "overwritten"})
    assert r.status_code == 409 and r.json["error"] == "id_conflict"
    assert conversations.get(db, theirs["id"])["story"] == "my own words"


@pytest.mark.parametrize(
    "path", ["/api/conversations/12345", "/api/conversations/not-a-uuid%20at-all"]
)
def test_a_malformed_id_is_400(staff_client, path):
    assert staff_client.put(path, json=body()).status_code == 400
    assert staff_client.get(path).status_code == 400


@pytest.mark.parametrize("days", [-10_000, 1])
def test_a_wrong_device_clock_is_kept_but_the_conversation_lands_today(
    db, event, booth, staff_author, days
):
    """A tablet at 2000-01-01, or a day ahead: stored, listed on My station and editable."""
    wrong = datetime.now(UTC) + timedelta(days=days)
    if days < 0:
        wrong = datetime(2000, 1, 2, tzinfo=UTC)
    data = ConversationIn(**body(story="clock", captured_at=wrong.isoformat()))
    record, _ = conversations.record(db, event, data, staff_author)
    assert record["captured_at"] == record["received_at"]
    device = db.execute(
        "SELECT device_captured_at FROM conversations WHERE uuid = ?", [str(data.id)]
    ).fetchone()[0]
    assert device == dbm.iso(wrong)
    listed = conversations.for_station(db, booth["id"], "Europe/Dublin")
    assert [(r["story"], r["editable"]) for r in listed] == [("clock", True)]


def test_a_plausible_device_time_is_kept(db, event, staff_author):
    earlier = datetime.now(UTC) - timedelta(hours=3)
    data = ConversationIn(**body(captured_at=earlier.isoformat()))
    record, _ = conversations.record(db, event, data, staff_author)
    assert record["captured_at"] == dbm.iso(earlier)


def test_a_badge_is_checked_for_staff_devices(staff_client, app, attendee):
    assert staff_client.get(f"/api/badges/{attendee['badge'].lower()}").json == {
        "badge": attendee["badge"]
    }
    unknown = "ACDEFG" if attendee["badge"] != "ACDEFG" else "ACDEFH"
    assert staff_client.get(f"/api/badges/{unknown}").status_code == 404
    assert staff_client.get("/api/badges/WIFI:S:venue;;").status_code == 400
    assert app.test_client().get(f"/api/badges/{attendee['badge']}").status_code == 401


def test_two_tablets_editing_one_conversation_conflict_and_nothing_is_lost(staff_client, db):
    made = body(story="NPS eight", nps=8, revision=1)
    assert put(staff_client, made).status_code == 201
    tablet_a = {**made, "story": "NPS eight, and they loved the demo", "revision": 2}
    tablet_b = {**made, "nps": 6, "revision": 2}  # from the same version, on another tablet
    assert put(staff_client, tablet_a).status_code == 200
    r = put(staff_client, tablet_b)
    assert r.status_code == 409 and r.json["error"] == "edit_conflict"
    stored = r.json["detail"]["stored"]
    assert (stored["story"], stored["nps"], stored["revision"]) == (tablet_a["story"], 8, 2)
    assert put(staff_client, tablet_a).status_code == 200  # an identical replay stays quiet
    # The second tablet keeps its version above the stored one: it replaces it.
    r = put(staff_client, {**tablet_b, "revision": 3})
    assert r.status_code == 200 and (r.json["nps"], r.json["revision"]) == (6, 3)
