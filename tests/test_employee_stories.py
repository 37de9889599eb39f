"""Employees' stories ("You Define TCE"): told for a location on /tce/<location>, moderated like
attendees' stories, with their own count and wall, and never in any customer figure."""

from __future__ import annotations

import os
import re
import uuid as uuidlib
from pathlib import Path

import pytest

from tracker.contract.requests import ConversationIn
from tracker.event import setup as eventsetup
from tracker.figures import report, scoreboard
from tracker.store import db as dbm
from tracker.stories import employees as employee_stories
from tracker.stories import moderation
from tracker.stories import record as conversations

from .helpers import csrf_token, wait_for_js

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder: the browser tests leave screenshots there


def shot(page, name: str, **options) -> None:
    """A screenshot for a person to look at, when TRACKER_SHOTS names a folder."""
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), **options)


def tell(db, event, story="I fixed a customer's invoice the same day", public=True, where="cork"):
    return employee_stories.record(db, event["id"], where, uuidlib.uuid4(), story, public)


def stored(db) -> int:
    """Employees' stories stored and not voided, whatever their approval."""
    query = "SELECT count(*) FROM conversations WHERE source = 'employee' AND voided_at IS NULL"
    return db.execute(query).fetchone()[0]


def approve(db, event, told) -> None:
    moderation.decide(db, event["id"], told["id"], "approve", "Ann Murphy")


# ---------------------------------------------------------------- domain


def test_a_story_is_stored_for_the_location_uncounted_and_waiting(db, event):
    told = tell(db, event)
    assert told["created"] and told["reference"].startswith("T-")
    row = dbm.one(db.execute("SELECT * FROM conversations WHERE uuid = ?", [told["id"]]))
    assert row["source"] == "employee" and row["station_id"] is None
    assert row["counted"] == 0 and row["approval"] == "pending" and row["public"] == 1
    assert (
        row["location_id"]
        == dbm.one(db.execute("SELECT id FROM locations WHERE slug = 'cork'"))["id"]
    )


def test_the_same_client_id_stores_once(db, event):
    client_id = uuidlib.uuid4()
    first = employee_stories.record(db, event["id"], "cork", client_id, "Once", True)
    again = employee_stories.record(db, event["id"], "cork", client_id, "Once", True)
    assert first["created"] and not again["created"]
    assert first["reference"] == again["reference"]
    assert db.execute("SELECT count(*) FROM conversations").fetchone() == (1,)
    with pytest.raises(employee_stories.IdConflict):  # the same id for another location
        employee_stories.record(db, event["id"], "austin", client_id, "Once", True)


@pytest.mark.parametrize(
    ("story", "problem"), [("", "empty"), ("   ", "empty"), ("x" * 4001, "at most 4000")]
)
def test_an_empty_or_huge_story_is_refused(db, event, story, problem):
    with pytest.raises(employee_stories.BadStory, match=problem):
        tell(db, event, story)
    assert employee_stories.count(db, event["id"]) == 0


def test_an_unknown_or_closed_location_is_refused(db, event):
    with pytest.raises(employee_stories.UnknownLocation):
        tell(db, event, where="paris")
    cork = dbm.one(db.execute("SELECT id FROM locations WHERE slug = 'cork'"))
    eventsetup.set_active(db, "locations", cork["id"], False, "Ann Murphy")
    with pytest.raises(employee_stories.UnknownLocation):
        tell(db, event)


def test_the_wall_shows_approved_public_stories_newest_first_without_personal_data(db, event):
    private = tell(db, event, "Kept to myself", public=False)
    waiting = tell(db, event, "Still waiting")
    first = tell(db, event, "First <b>told</b>")
    second = tell(db, event, "Second told", where="austin")
    for told in (private, first, second):
        approve(db, event, told)
    wall = employee_stories.wall(db, event["id"])
    assert [w["story"] for w in wall] == ["Second told", "First <b>told</b>"]
    assert set(wall[0]) == {"story", "location", "location_slug", "at"}
    assert employee_stories.wall(db, event["id"], "cork", limit=5)[0]["location"] == "Cork"
    # A public count counts what a screen may show: approved and public, nothing waiting.
    assert employee_stories.count(db, event["id"]) == 2
    assert employee_stories.count(db, event["id"], "austin") == 1
    moderation.decide(db, event["id"], first["id"], "reject", "Ann Murphy")
    assert [w["story"] for w in employee_stories.wall(db, event["id"])] == ["Second told"]
    assert employee_stories.count(db, event["id"]) == 1
    assert waiting["id"] not in {w["story"] for w in wall}


def test_moderation_lists_decides_and_counts_employee_stories(db, event):
    told = tell(db, event)
    waiting = moderation.stories(db, event["id"], "waiting")
    assert [(s["uuid"], s["source"], s["location"], s["station"]) for s in waiting] == [
        (told["id"], "employee", "Cork", None)
    ]
    assert moderation.count(db, event["id"], "waiting") == 1
    assert moderation.decide(db, event["id"], told["id"], "approve", "Ann Murphy") == {
        "approval": "approved",
        "on_screens": True,
    }
    trail = dbm.one(db.execute("SELECT actor, action FROM audit WHERE action = 'story.approve'"))
    assert trail == {"actor": "Ann Murphy", "action": "story.approve"}


def test_a_detractor_scored_employee_story_changes_no_customer_figure(db, event):
    """Even a row written past the page (an employee story with a 0): counted 0 and no station
    keep it out of totals, NPS, the hours, the ticker and the report."""
    before = scoreboard.snapshot(db, event)
    before_report = report.build(db, event)
    told = tell(db, event)
    db.execute("UPDATE conversations SET nps = 0 WHERE uuid = ?", [told["id"]])
    approve(db, event, told)
    after = scoreboard.snapshot(db, event)
    for key in ("total", "checkins", "conversations", "nps", "locations", "leaderboard", "hours"):
        assert after[key] == before[key], key
    assert after["recent"] == before["recent"] == []
    assert after["employees"]["count"] == 1
    assert after["employees"]["recent"][0]["story"] == "I fixed a customer's invoice the same day"
    assert report.build(db, event) == before_report
    totals = db.execute("SELECT sum(conversations), sum(detractors) FROM station_totals")
    assert totals.fetchone() == (0, 0)


def test_the_board_snapshot_carries_the_employees_count_and_wall(db, event):
    approve(db, event, tell(db, event, "Cork's story"))
    approve(db, event, tell(db, event, "Austin's story", where="austin"))
    whole = scoreboard.snapshot(db, event)
    assert whole["employees"]["count"] == 2
    assert [s["story"] for s in whole["employees"]["recent"]] == ["Austin's story", "Cork's story"]
    cork = scoreboard.snapshot(db, event, "cork")
    assert cork["employees"] == {
        "count": 1,
        "recent": [
            {
                "story": "Cork's story",
                "location": "Cork",
                "location_slug": "cork",
                "at": cork["employees"]["recent"][0]["at"],
            }
        ],
    }


def test_staff_conversations_keep_their_station(db, event):
    """An employee story beside a staff one: the staff one keeps counting as before."""
    tell(db, event)
    author = conversations.Author("staff", event["stations"]["booth"]["id"], staff_name="Ann")
    data = ConversationIn(id=uuidlib.uuid4(), story="Customer story", nps=10)
    conversations.record(db, event, data, author)
    snap = scoreboard.snapshot(db, event)
    assert snap["conversations"] == 1 and snap["nps"]["promoters"] == 1


# ---------------------------------------------------------------- the page


def test_the_page_works_without_sign_in_in_the_locations_language(client, db, event):
    eventsetup.upsert_location(
        db, event["id"], "cork", "Cork", "Cork", "IE", "Europe/Dublin", language="de"
    )
    r = client.get("/tce/cork")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="de"' in page and "You Define TCE" in page
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/tce/paris").status_code == 404


def send(client, story, page_html=None, public=True, **extra):
    html = page_html or client.get("/tce/cork").get_data(as_text=True)
    form_id = extra.pop("id", None) or re.search(r'name="id" value="([^"]+)"', html)[1]
    data = {"csrf_token": csrf_token(html), "id": form_id, "story": story, **extra}
    if public:
        data["public"] = "yes"
    return client.post("/tce/cork", data=data)


def test_telling_a_story_redirects_to_a_thank_you_and_a_double_tap_stores_once(client, db, event):
    html = client.get("/tce/cork").get_data(as_text=True)
    first = send(client, "<script>alert(1)</script> I called back", html)
    again = send(client, "<script>alert(1)</script> I called back", html)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    thanks = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Thank you!" in thanks and "T-1001" in thanks
    assert "An organizer reads it" in thanks
    assert stored(db) == 1
    row = dbm.one(db.execute("SELECT story, public FROM conversations"))
    assert row == {"story": "<script>alert(1)</script> I called back", "public": 1}


def test_back_then_send_again_stores_the_story_once(client, db, event):
    """Back brings a fresh form (a new id) with the words still in it: the same story again."""
    first = send(
        client, "I stayed late to fix their order", client.get("/tce/cork").get_data(as_text=True)
    )
    again = send(
        client, "I stayed late to fix their order", client.get("/tce/cork").get_data(as_text=True)
    )
    assert first.headers["Location"] == again.headers["Location"]
    assert stored(db) == 1
    other = send(client, "Another story entirely", client.get("/tce/cork").get_data(as_text=True))
    assert other.headers["Location"] != first.headers["Location"] and stored(db) == 2


def test_a_private_story_says_it_stays_with_the_organizers(client, db, event):
    r = send(client, "Just for the organizers", public=False)
    assert "will not show" in client.get(r.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("story", "message"),
    [("  ", "Tell us your story first."), ("x" * 4001, "at most 4,000 characters")],
)
def test_bad_input_gets_a_clear_error_keeps_the_text_and_stores_nothing(
    client, db, event, story, message
):
    r = send(client, story)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and message in page
    assert stored(db) == 0


def test_a_damaged_form_id_is_refused_and_stores_nothing(client, db, event):
    r = send(client, "A story", id="not-a-uuid")
    assert r.status_code == 400 and "damaged" in r.get_data(as_text=True)
    assert stored(db) == 0


def test_a_ten_megabyte_body_is_refused(client, db, event):
    html = client.get("/tce/cork").get_data(as_text=True)
    r = client.post(
        "/tce/cork",
        data={
            "csrf_token": csrf_token(html),
            "id": str(uuidlib.uuid4()),
            "story": "x" * 10_000_000,
        },
    )
    assert r.status_code == 413
    assert stored(db) == 0


def test_stories_from_one_address_are_rate_limited(make_app, db, event):
    app = make_app(RATELIMIT_ENABLED=True, STORY_IP_LIMIT="2 per minute")
    c = app.test_client()
    codes = [send(c, f"Story {i}").status_code for i in range(3)]
    assert codes == [303, 303, 429]
    assert stored(db) == 2


def test_the_qr_sheet_has_the_employees_page(client, db, event, app):
    from tracker.web import pages

    with app.test_request_context():
        cork = dict(dbm.one(db.execute("SELECT * FROM locations WHERE slug = 'cork'")))
        context = pages.sheet_context(event, cork, "https://tracker.example.org")
    assert context["employees"]["url"] == "https://tracker.example.org/tce/cork"
    assert "<svg" in context["employees"]["svg"]


def test_the_board_shows_the_employees_count_only_when_asked(client, db, event):
    approve(db, event, tell(db, event))
    assert 'id="employees-count"' not in client.get("/board").get_data(as_text=True)
    page = client.get("/board?employees=1").get_data(as_text=True)
    assert 'id="employees-count"' in page and "You Define TCE: 1 story" in page


# ---------------------------------------------------------------- on a phone and a big screen


@pytest.mark.browser
@pytest.mark.live
def test_an_employee_tells_a_story_from_a_phone(live_server, browser, db, event):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/tce/cork")
        shot(page, "tce-form.png", full_page=True)
        page.fill("#story", "I stayed late to fix a customer's export before their board meeting.")
        page.check("input[name=public]")
        page.tap("button[type=submit]")
        page.wait_for_url("**/tce/cork/thanks**")
        wait_for_js(page, "document.querySelector('h1').textContent.length > 0")
        shot(page, "tce-thanks.png", full_page=True)
        assert "Thank you!" in page.text_content("h1")
    finally:
        context.close()
    assert stored(db) == 1
    told = dbm.one(db.execute("SELECT uuid FROM conversations WHERE source = 'employee'"))
    moderation.decide(db, event["id"], told["uuid"], "approve", "Ann Murphy")
    screen = browser.new_page(viewport={"width": 1920, "height": 1080})
    try:
        screen.goto(f"{live_server.url}/board?employees=1")
        wait_for_js(
            screen, "/You Define TCE/.test(document.getElementById('story-by').textContent)"
        )
        shot(screen, "board-employees.png")
        assert "1 story" in screen.text_content("#employees-count")
    finally:
        screen.close()


def test_the_moderation_page_lists_them_as_employees_and_approves_them(app, client, db, event):
    app.config["ADMIN_PASSWORD"] = "a long organizer password"
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/admin/login", data={"name": "admin", "password": "a long organizer password"})
    told = tell(db, event, "Waiting for <em>approval</em>")
    page = client.get("/admin/stories?show=waiting").get_data(as_text=True)
    assert "Waiting for &lt;em&gt;approval&lt;/em&gt;" in page and "employee" in page
    assert "None" not in page
    moderation.decide(db, event["id"], told["id"], "approve", "admin")
    assert employee_stories.wall(db, event["id"])[0]["story"] == "Waiting for <em>approval</em>"


def test_an_employees_story_can_be_voided_and_is_in_the_conversations_export(db, event):
    from tracker.corrections import voids
    from tracker.figures import exports

    client_id = str(uuidlib.uuid4())
    employee_stories.record(db, event["id"], "cork", client_id, "We fixed it", True)
    assert voids.void(db, event["id"], "conversations", client_id, "Ann", "a test story")
    rows = list(exports.csv_stream(db, "conversations", event["id"]))
    text = b"".join(r if isinstance(r, bytes) else r.encode() for r in rows).decode()
    assert "We fixed it" in text and "employee" in text
