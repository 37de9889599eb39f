"""Hostile and clumsy input found in review: each gets a clear answer and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tracker.contract.requests import ConversationIn
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.figures import scoreboard
from tracker.followups import changes as followups
from tracker.followups import queue as followup_queue
from tracker.stories import edits as conversation_edits
from tracker.stories import record as conversations


@pytest.fixture
def forms(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def sign_in(client, event, slug="booth", pin=None):
    from .conftest import PINS

    station = event["stations"][slug]
    return client.post(
        "/staff",
        data={
            "station": str(station["id"]),
            "name": "Sam",
            "pin": pin or PINS[slug],
            "location": station["location_slug"],
        },
    )


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/ /evil.example",
    ],
)
def test_organizer_sign_in_never_redirects_off_site(forms, client, target):
    forms.config["ADMIN_PASSWORD"] = "correct horse battery"
    r = client.post(
        f"/admin/login?next={target}", data={"name": "admin", "password": "correct horse battery"}
    )
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/"


def test_sign_in_goes_back_to_the_page_asked_for(forms, client):
    forms.config["ADMIN_PASSWORD"] = "correct horse battery"
    r = client.post(
        "/admin/login?next=/admin/follow-ups",
        data={"name": "admin", "password": "correct horse battery"},
    )
    assert r.headers["Location"] == "/admin/follow-ups"


def test_resetting_a_pin_ends_the_sessions_signed_in_with_the_old_one(forms, client, db, event):
    assert sign_in(client, event).status_code == 302
    assert client.get("/staff/capture").status_code == 200
    payload = {"id": str(uuid.uuid4()), "story": "before the reset"}
    assert client.post("/api/conversations", json=payload).status_code == 201
    eventsetup.reset_pin(db, event["stations"]["booth"]["id"])
    r = client.get("/staff/capture")
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff")
    r = client.post("/api/conversations", json={"id": str(uuid.uuid4()), "story": "after"})
    assert r.status_code == 401
    assert db["conversations"].count == 1


@pytest.mark.parametrize("station", ["²", "9" * 30, "-1", "", "1.5"])
def test_odd_station_values_at_staff_sign_in_are_a_clear_400(forms, client, station):
    r = client.post("/staff", data={"station": station, "name": "Sam", "pin": "1111"})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "1970-01-01T00:00:00Z"]
)
def test_a_broken_device_clock_never_loses_the_conversation(forms, client, db, event, when):
    """Years away from now: stored, and dated when the server received it (not a 400, which
    would strand it on the tablet; not a server error on conversion)."""
    sign_in(client, event)
    r = client.post(
        "/api/conversations", json={"id": str(uuid.uuid4()), "story": "x", "captured_at": when}
    )
    assert r.status_code == 201 and r.json["captured_at"] == r.json["received_at"]
    assert db["conversations"].count == 1


def test_an_edit_never_reopens_a_follow_up_that_is_done(db, event):
    station = event["stations"]["booth"]
    author = conversations.Author("staff", station["id"], staff_name="Sam")
    ev = events.get_event(db)
    data = ConversationIn(id=uuid.uuid4(), story="call me", follow_up=True, contact="a@b.example")
    record, _ = conversations.record(db, ev, data, author)
    followups.set_status(db, ev["id"], record["id"], "done")
    conversation_edits.edit(db, ev, data.model_copy(update={"follow_up": False}), author)
    conversation_edits.edit(db, ev, data.model_copy(update={"follow_up": True}), author)
    assert conversations.get(db, record["id"])["status"] == "done"
    assert followup_queue.follow_ups(db, ev["id"]) == []


def test_a_screen_for_a_closed_location_says_so_and_an_unknown_one_is_skipped(db, event):
    ev = events.get_event(db)
    austin = events.location_by_slug(db, ev["id"], "austin")
    eventsetup.set_active(db, "locations", austin["id"], False)
    snaps = scoreboard.snapshots(db, ev, [None, "austin", "mars"], skip_unknown=True)
    assert set(snaps) == {None, "austin"}
    assert snaps["austin"]["location"]["active"] is False
    assert snaps["austin"]["total"] == snaps[None]["total"]  # the event's figures stay
    with pytest.raises(scoreboard.UnknownLocation):
        scoreboard.snapshots(db, ev, [None, "mars"])


def test_behind_a_trusted_proxy_the_forwarded_host_is_the_origin_checked(db_path, event):
    from tracker import create_app

    def check_in(app):
        return app.test_client().post(
            "/api/checkins",
            json={"station": event["stations"]["booth"]["code"]},
            headers={
                "Origin": "https://cx.example.org",
                "X-Forwarded-Host": "cx.example.org",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": "203.0.113.9",
            },
        )

    base = {
        "TESTING": True,
        "DATABASE": str(db_path),
        "SECRET_KEY": "s",
        "RATELIMIT_ENABLED": False,
    }
    assert check_in(create_app(base)).status_code == 403  # not trusted: the proxy's Host is used
    assert check_in(create_app({**base, "TRUSTED_PROXIES": 1})).status_code == 201
