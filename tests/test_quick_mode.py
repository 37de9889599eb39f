"""Staff's quick mode: badge, score and one topic save a conversation; the story is optional
only while the event runs in quick mode, and only for staff."""

from __future__ import annotations

import os
import uuid as uuidlib
from pathlib import Path

import pytest

from tracker.contract.requests import ConversationIn
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import settings as eventsettings
from tracker.event import setup as eventsetup
from tracker.figures import scoreboard
from tracker.store import db as dbm
from tracker.stories import edits as conversation_edits
from tracker.stories import record as conversations
from tracker.stories.record import Author

from .conftest import PINS
from .helpers import sign_in_session, wait_for_js

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder: the browser tests leave screenshots there


def shot(page, name: str, **options) -> None:
    """A screenshot for a person to look at, when TRACKER_SHOTS names a folder."""
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), **options)


def quick(**fields) -> ConversationIn:
    return ConversationIn(**{"id": str(uuidlib.uuid4()), **fields})


@pytest.fixture
def quick_event(db, event) -> dict:
    eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    return events.get_event(db, event["slug"])


def test_quick_mode_is_off_by_default_and_a_story_is_required(db, event, staff_author):
    assert not event["quick_mode"]
    with pytest.raises(conversations.StoryRequired, match="not in quick mode"):
        conversations.record(db, event, quick(nps=9, topics=["Pricing"]), staff_author)
    assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


def test_in_quick_mode_score_and_topic_are_enough_and_count(db, quick_event, staff_author, booth):
    rec, created = conversations.record(
        db, quick_event, quick(nps=3, topics=["pricing"], public=True), staff_author
    )
    assert created and rec["story"] == "" and rec["topics"] == ["Pricing"] and rec["nps"] == 3
    assert rec["counted"] and not rec["public"]  # nothing to show on a screen
    snap = scoreboard.snapshot(db, quick_event)
    assert snap["conversations"] == 1 and snap["nps"]["detractors"] == 1
    assert snap["recent"] == []


@pytest.mark.parametrize("fields", [{}, {"story": None}])
def test_a_story_may_be_absent_or_null(db, quick_event, staff_author, fields):
    rec, _ = conversations.record(db, quick_event, quick(nps=10, **fields), staff_author)
    assert rec["story"] == ""


def test_a_blank_story_is_still_a_malformed_body(client, db, quick_event, booth):
    with client.session_transaction() as session:
        sign_in_session(session, db, booth["id"])
    r = client.post(
        "/api/conversations", json={"id": str(uuidlib.uuid4()), "story": "  ", "nps": 9}
    )
    assert r.status_code == 400 and r.json["error"] == "invalid_body"


def test_a_quick_conversation_with_nothing_in_it_is_refused(db, quick_event, staff_author):
    with pytest.raises(conversations.NothingToSave, match="score or a topic"):
        conversations.record(db, quick_event, quick(), staff_author)


def test_attendees_always_tell_a_story(db, quick_event, booth):
    author = Author("attendee", booth["id"], attendee_id=1)
    with pytest.raises(conversations.StoryRequired):
        conversations.author_fields(db, quick_event, quick(nps=9), author)


def test_an_edit_may_add_the_story_later(db, quick_event, staff_author):
    data = quick(nps=8, topics=["Support"])
    conversations.record(db, quick_event, data, staff_author)
    later = ConversationIn(**{**data.model_dump(), "story": "They wanted more docs", "revision": 2})
    rec, _ = conversation_edits.put(db, quick_event, later, staff_author)
    assert rec["story"] == "They wanted more docs"


def test_set_quick_mode_is_audited_once_per_change(db, event):
    assert eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    assert not eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    assert eventsettings.set_quick_mode(db, event["id"], False, "Bo")
    trail = dbm.rows(
        db.execute(
            "SELECT actor, action, before, after FROM audit WHERE action = 'event.quick_mode'"
        )
    )
    assert [(a["actor"], a["after"]) for a in trail] == [
        ("Ann Murphy", '{"quick_mode": true}'),
        ("Bo", '{"quick_mode": false}'),
    ]
    with pytest.raises(ValueError, match="no event"):
        eventsettings.set_quick_mode(db, 9999, True, "Ann Murphy")


def test_the_event_file_sets_it_and_a_file_without_it_keeps_it(db, event, tmp_path):
    from .conftest import SMALL_EVENT

    text = SMALL_EVENT.read_text()
    on = tmp_path / "on.toml"
    on.write_text(text.replace("goal = 20\n", "goal = 20\nquick_mode = true\n"))
    eventsetup.load_event(db, eventfile.read_event_file(on))
    assert events.get_event(db, "test-day")["quick_mode"] == 1
    eventsetup.load_event(db, eventfile.read_event_file(SMALL_EVENT))  # says nothing: kept
    assert events.get_event(db, "test-day")["quick_mode"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("goal = 20\n", 'goal = 20\nquick_mode = "yes"\n'))
    with pytest.raises(eventfile.EventFileError, match="quick_mode"):
        eventfile.read_event_file(bad)


def test_the_api_says_clearly_why_a_story_is_needed(client, db, event, booth):
    with client.session_transaction() as session:
        sign_in_session(session, db, booth["id"])
    body = {"id": str(uuidlib.uuid4()), "nps": 9, "topics": ["Pricing"]}
    r = client.post("/api/conversations", json=body)
    assert r.status_code == 422 and "quick mode" in r.json["detail"]
    eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    r = client.post("/api/conversations", json=body)
    assert r.status_code == 201 and r.json["story"] == ""
    assert client.post("/api/conversations", json=body).status_code == 200  # a retry: once
    r = client.post("/api/conversations", json={"id": str(uuidlib.uuid4())})
    assert r.status_code == 422 and "score or a topic" in r.json["detail"]


def test_the_capture_page_says_quick_mode(client, db, event, booth):
    with client.session_transaction() as session:
        sign_in_session(session, db, booth["id"])
    assert 'data-quick="1"' not in client.get("/staff/capture").get_data(as_text=True)
    eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    page = client.get("/staff/capture").get_data(as_text=True)
    assert 'data-quick="1"' in page and "(optional)" in page


# ---------------------------------------------------------------- on a phone


@pytest.mark.browser
@pytest.mark.live
def test_three_taps_on_a_phone_save_a_quick_conversation(live_server, browser, db, event):
    eventsettings.set_quick_mode(db, event["id"], True, "Ann Murphy")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff")
        page.select_option("#location", label="Cork")
        page.select_option("#station", label="Main booth")
        page.fill("#name", "Ann")
        page.fill("#pin", PINS["booth"])
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/capture")
        shot(page, "quick-empty.png", full_page=True)
        page.tap(".nps-scale input[value='9'] + span")  # tap 1: the score
        page.tap(".topics .chip:has-text('Support')")  # tap 2: a topic saves at once
        wait_for_js(page, "document.getElementById('toast').hidden === false")
        shot(page, "quick-saved.png", full_page=True)
        wait_for_js(
            page, "/All synced/.test(document.getElementById('waiting').textContent)", 10000
        )
        assert page.locator("input[name=nps]:checked").count() == 0  # ready for the next
        # The next person: a double tap on the topic still saves once.
        page.tap(".nps-scale input[value='4'] + span")
        page.dblclick(".topics .chip:has-text('Pricing')")
        # Both taps are handled when dblclick returns; the save they made is over when the
        # button is back (a second save would have started before that, and holds it).
        wait_for_js(page, "!document.getElementById('save').disabled", 10000)
        wait_for_js(
            page, "/All synced/.test(document.getElementById('waiting').textContent)", 10000
        )
    finally:
        context.close()
    rows = dbm.rows(
        db.execute("SELECT story, nps, topics, counted, source FROM conversations ORDER BY id")
    )
    assert rows == [
        {"story": "", "nps": 9, "topics": '["Support"]', "counted": 1, "source": "staff"},
        {"story": "", "nps": 4, "topics": '["Pricing"]', "counted": 1, "source": "staff"},
    ]
