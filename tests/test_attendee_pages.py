"""The attendee's pages without a browser: the station page, its no-JavaScript form, /me."""

from __future__ import annotations

import re

import pytest

from tracker.checkins import record as checkins
from tracker.event import setup as eventsetup

from .helpers import decode, rows


def form_fields(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


@pytest.mark.parametrize(
    "agent",
    [
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
    ],
)
def test_opening_the_page_stores_nothing(client, event, db, agent):
    """Link previews and prefetchers GET the page; only its script or button checks in."""
    before = rows(db)
    r = client.get(f"/s/{event['stations']['booth']['code']}", headers={"User-Agent": agent})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Main booth, Cork" in html and "Check me in" in html
    assert r.headers["Cache-Control"] == "no-store"
    assert "tracker_attendee" not in r.headers.get("Set-Cookie", "")
    assert rows(db) == before


def test_unknown_station_page_is_a_friendly_404(client, db):
    before = rows(db)
    r = client.get("/s/not-a-station")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "We can't find that" in html and "active station" in html
    assert rows(db) == before


def test_the_no_javascript_button_checks_in_once(client, event, db):
    code = event["stations"]["booth"]["code"]
    fields = form_fields(client.get(f"/s/{code}").get_data(as_text=True))
    assert set(fields) == {"csrf_token", "id"}
    r = client.post(f"/s/{code}", data=fields)
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    assert "You're checked in at Main booth, Cork" in html
    assert "1</strong>\n    of <span" in html or ">1</strong>" in html
    assert "tracker_attendee=" in r.headers["Set-Cookie"]
    # Sending the same form again (refresh, double tap) stores nothing new.
    before = rows(db)
    again = client.post(f"/s/{code}", data=fields)
    assert again.status_code == 200 and rows(db) == before
    # A new visit is a repeat: stored, shown as already visited, not counted.
    fields = form_fields(client.get(f"/s/{code}").get_data(as_text=True))
    r = client.post(f"/s/{code}", data=fields)
    assert "You've already visited Main booth, Cork" in r.get_data(as_text=True)
    assert db.execute("SELECT sum(counted), count(*) FROM checkins").fetchone() == (1, 2)


def test_a_station_switched_off_while_the_form_waits_is_404_and_stores_nothing(
    client, event, db, monkeypatch
):
    """The page checked the station; the check-in, a moment later in its transaction, finds it
    switched off by an organizer: the phone gets the friendly 404, not a server error."""
    station = event["stations"]["booth"]
    fields = form_fields(client.get(f"/s/{station['code']}").get_data(as_text=True))
    real_check_in = checkins.check_in

    def organizer_acts_first(db, *args, **kwargs):
        eventsetup.set_active(db, "stations", station["id"], False)
        return real_check_in(db, *args, **kwargs)

    monkeypatch.setattr(checkins, "check_in", organizer_acts_first)
    before = rows(db)
    r = client.post(f"/s/{station['code']}", data=fields)
    assert r.status_code == 404 and "active station" in r.get_data(as_text=True)
    assert rows(db) == before


def test_the_form_needs_its_csrf_token(client, event, db):
    code = event["stations"]["booth"]["code"]
    fields = form_fields(client.get(f"/s/{code}").get_data(as_text=True))
    before = rows(db)
    r = client.post(f"/s/{code}", data={"id": fields["id"]})
    assert r.status_code == 400 and rows(db) == before


def test_a_damaged_form_id_is_400_and_stores_nothing(client, event, db):
    code = event["stations"]["booth"]["code"]
    fields = form_fields(client.get(f"/s/{code}").get_data(as_text=True))
    before = rows(db)
    r = client.post(f"/s/{code}", data={**fields, "id": "garbage"})
    assert r.status_code == 400 and rows(db) == before


def test_a_form_without_its_id_still_checks_in_once(client, event, db):
    """A form that lost its hidden id (an odd browser, a hand-made request) is a plain check-in."""
    code = event["stations"]["booth"]["code"]
    fields = form_fields(client.get(f"/s/{code}").get_data(as_text=True))
    r = client.post(f"/s/{code}", data={"csrf_token": fields["csrf_token"]})
    assert r.status_code == 201
    assert "You're checked in at Main booth, Cork" in r.get_data(as_text=True)
    assert db.execute("SELECT sum(counted), count(*) FROM checkins").fetchone() == (1, 1)


def test_me_without_a_passport_explains_what_to_do(client):
    r = client.get("/me")
    assert r.status_code == 200 and "No stations yet" in r.get_data(as_text=True)
    assert client.get("/me/badge.svg").status_code == 404


def test_me_shows_the_passport_and_a_scannable_badge(client, event, db):
    s = event["stations"]
    for slug in ("booth", "stories"):
        client.post("/api/checkins", json={"station": s[slug]["code"]})
    badge = db.execute("SELECT badge FROM attendees").fetchone()[0]
    html = client.get("/me").get_data(as_text=True)
    assert badge in html and "2 stations visited" in html
    assert html.index("Main booth") < html.index("Story corner")
    svg = client.get("/me/badge.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    # The SVG's QR code encodes the badge: same matrix as a PNG that zxing reads back.
    from tracker.event import qr

    assert svg.data == qr.badge_svg(badge) and decode(qr.png(badge)) == badge


def test_details_are_kept_only_with_consent_and_can_be_erased(client, event, db):
    client.post("/api/checkins", json={"station": event["stations"]["booth"]["code"]})
    token = form_fields(client.get("/me").get_data(as_text=True))["csrf_token"]
    details = {
        "csrf_token": token,
        "name": "Ann Lee",
        "email": "ann@example.org",
        "company": "Acme",
    }
    r = client.post("/me", data=details)
    assert r.status_code == 400 and "tick the box" in r.get_data(as_text=True)
    assert db.execute("SELECT name, email, consent FROM attendees").fetchone() == (None, None, 0)
    r = client.post("/me", data={**details, "email": "not-an-email", "consent": "yes"})
    assert r.status_code == 400 and "does not look like an email" in r.get_data(as_text=True)
    r = client.post("/me", data={**details, "consent": "yes"})
    assert r.status_code == 303 and r.location.endswith("/me?saved=1#details")
    assert db.execute("SELECT name, email, company, consent FROM attendees").fetchone() == (
        "Ann Lee",
        "ann@example.org",
        "Acme",
        1,
    )
    assert "Saved" in client.get("/me?saved=1").get_data(as_text=True)
    client.post("/me", data={"csrf_token": token, "name": "", "email": "", "company": ""})
    assert db.execute("SELECT name, email, company, consent FROM attendees").fetchone() == (
        None,
        None,
        None,
        0,
    )
    assert checkins.count(db) == 1


def test_details_need_a_checked_in_attendee(app, client, db):
    app.config["WTF_CSRF_ENABLED"] = False  # the rule under test, not the form token
    r = client.post("/me", data={"name": "X"})
    assert r.status_code == 403 and "Check in at a station first" in r.get_data(as_text=True)
    assert db["attendees"].count == 0
