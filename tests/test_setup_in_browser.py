"""Setup in the browser: topics, dates, time zone, what counts, moderation and languages, each
checked as the event file checks it, audited with before and after, and nothing changed by bad
input (domain and HTTP)."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from tracker.contract.requests import ConversationIn
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import settings as eventsettings
from tracker.figures import scoreboard
from tracker.store import audit
from tracker.stories import record as conversations

from .helpers import add_checkins

PASSWORD = "correct horse battery"


def settings(db) -> dict:
    """What a bad change must leave exactly as it was."""
    ev = events.get_event(db)
    keys = ("timezone", "starts_at", "ends_at", "counts", "topics", "moderation", "language")
    locs = {loc["slug"]: loc["language"] for loc in events.locations(db, ev["id"], False)}
    return {k: ev[k] for k in keys} | {"locations": locs, "audit": audit.count(db, ev["id"])}


def last_audit(db, event_id: int) -> tuple:
    e = audit.entries(db, event_id)[0]
    return e["actor"], e["action"], json.loads(e["before"]), json.loads(e["after"])


# --- domain: each setting, its audit row, and refusal -----------------------------------------


def test_topics_add_rename_remove_and_stored_conversations_keep_theirs(db, event):
    booth = event["stations"]["booth"]
    data = ConversationIn(id=uuid.uuid4(), station=booth["code"], story="hi", topics=["Support"])
    record, _ = conversations.record(
        db, events.get_event(db), data, conversations.Author("staff", booth["id"], "Sam")
    )
    assert eventsettings.set_topics(db, event["id"], ["Pricing", "Help desk", "Roadmap"], "Ann")
    assert events.get_event(db)["topics"] == ["Pricing", "Help desk", "Roadmap"]
    assert last_audit(db, event["id"]) == (
        "Ann",
        "event.topics",
        {"topics": ["Pricing", "Support"]},
        {"topics": ["Pricing", "Help desk", "Roadmap"]},
    )
    stored = db.execute("SELECT topics FROM conversations WHERE uuid = ?", [record["id"]])
    assert json.loads(stored.fetchone()[0]) == ["Support"]
    assert not eventsettings.set_topics(db, event["id"], ["Pricing", "Help desk", "Roadmap"], "Ann")
    assert eventsettings.set_topics(db, event["id"], [], "Ann")  # none at all is allowed
    assert events.get_event(db)["topics"] == []


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda db, e: eventsettings.set_topics(db, e, ["x" * 81], "Ann"), "topics 1"),
        (
            lambda db, e: eventsettings.set_topics(db, e, [f"t{i}" for i in range(41)], "Ann"),
            "at most 40",
        ),
        (lambda db, e: eventsettings.set_topics(db, e, ["Pricing", "pricing"], "Ann"), "twice"),
        (lambda db, e: eventsettings.set_topics(db, e, ["  "], "Ann"), "topics 1"),
        (
            lambda db, e: eventsettings.set_dates(db, e, date(2026, 10, 8), date(2026, 10, 7), "A"),
            "before the first",
        ),
        (lambda db, e: eventsettings.set_timezone(db, e, "Mars/Base", "Ann"), "unknown time zone"),
        (lambda db, e: eventsettings.set_timezone(db, e, "", "Ann"), "unknown time zone"),
        (lambda db, e: eventsettings.set_counts(db, e, [], "Ann"), "counts"),
        (lambda db, e: eventsettings.set_counts(db, e, ["visits"], "Ann"), "counts 1"),
        (lambda db, e: eventsettings.set_moderation(db, e, "everyone", "Ann"), "moderation"),
        (lambda db, e: eventsettings.set_event_language(db, e, "xx", "Ann"), "unknown language"),
    ],
)
def test_bad_settings_are_refused_as_the_event_file_refuses_them(db, event, change, message):
    before = settings(db)
    with pytest.raises(ValueError, match=message):
        change(db, event["id"])
    assert settings(db) == before


def test_the_console_and_the_event_file_agree_on_time_zones_and_languages(db, event):
    for tz in ("Europe/Lisbon", "Mars/Base"):
        try:
            eventfile.check_timezone(tz)
        except ValueError:
            with pytest.raises(ValueError):
                eventsettings.set_timezone(db, event["id"], tz, "Ann")
        else:
            eventsettings.set_timezone(db, event["id"], tz, "Ann")
            assert events.get_event(db)["timezone"] == tz


def test_dates_timezone_moderation_and_languages_are_stored_and_audited(db, event):
    eid = event["id"]
    assert eventsettings.set_dates(db, eid, date(2026, 10, 7), date(2026, 10, 8), "Ann")
    assert last_audit(db, eid)[1:] == (
        "event.dates",
        {"starts_at": None, "ends_at": None},
        {"starts_at": "2026-10-07", "ends_at": "2026-10-08"},
    )
    assert eventsettings.set_timezone(db, eid, "Europe/Lisbon", "Ann")
    assert last_audit(db, eid)[2:] == ({"timezone": "Europe/Dublin"}, {"timezone": "Europe/Lisbon"})
    assert eventsettings.set_moderation(db, eid, "all", "Ann")
    assert last_audit(db, eid)[1] == "event.moderation"
    assert eventsettings.set_event_language(db, eid, "de", "Ann")
    assert last_audit(db, eid)[2:] == ({"language": "en"}, {"language": "de"})
    austin = events.location_by_slug(db, eid, "austin")
    assert eventsettings.set_location_language(db, austin["id"], "pt", "Ann")  # pt is pt-BR
    assert events.location_by_slug(db, eid, "austin")["language"] == "pt-BR"
    assert last_audit(db, eid)[1:] == (
        "location.language",
        {"language": None},
        {"language": "pt-BR"},
    )
    with pytest.raises(ValueError, match="unknown language"):
        eventsettings.set_location_language(db, austin["id"], "klingon", "Ann")
    assert eventsettings.set_location_language(db, austin["id"], "", "Ann")  # back to the event's
    assert events.location_by_slug(db, eid, "austin")["language"] is None
    ev = events.get_event(db)
    assert (ev["starts_at"], ev["timezone"], ev["moderation"], ev["language"]) == (
        "2026-10-07",
        "Europe/Lisbon",
        "all",
        "de",
    )
    assert eventsettings.set_dates(db, eid, None, None, "Ann")
    assert events.get_event(db)["starts_at"] is None


def test_what_counts_moves_the_board_at_once(db, event):
    add_checkins(db, event["stations"]["booth"]["id"], 3)
    assert scoreboard.snapshot(db, events.get_event(db))["total"] == 3
    assert eventsettings.set_counts(db, event["id"], ["conversations"], "Ann")
    assert events.get_event(db)["counts"] == ["conversations"]
    assert scoreboard.snapshot(db, events.get_event(db))["total"] == 0
    assert eventsettings.set_counts(db, event["id"], ["conversations", "checkins"], "Ann")
    assert scoreboard.snapshot(db, events.get_event(db))["total"] == 3
    assert not eventsettings.set_counts(db, event["id"], ["checkins", "conversations"], "Ann")


# --- HTTP: the setup page's forms ---------------------------------------------------------------


def test_setup_page_shows_every_setting(admin):
    page = admin.get("/admin/setup").get_data(as_text=True)
    for expected in (
        'name="topics"',
        "Pricing\nSupport</textarea>",
        'name="starts_at" type="date"',
        'name="timezone" value="Europe/Dublin"',
        'value="checkins" checked',
        'value="attendees" checked',
        '<option value="en" selected>',
        '<option value="Europe/Lisbon">',
        "/admin/setup/locations/",
    ):
        assert expected in page, expected


@pytest.mark.parametrize(
    "path,data,setting,value",
    [
        (
            "topics",
            {"topics": "Pricing\r\n\r\n  Support desk \r\nRoadmap"},
            "topics",
            ["Pricing", "Support desk", "Roadmap"],
        ),
        ("dates", {"starts_at": "2026-10-07", "ends_at": "2026-10-09"}, "ends_at", "2026-10-09"),
        ("timezone", {"timezone": "Asia/Tokyo"}, "timezone", "Asia/Tokyo"),
        ("counts", {"counts": ["checkins"]}, "counts", ["checkins"]),
        ("moderation", {"moderation": "all"}, "moderation", "all"),
        ("language", {"language": "fr"}, "language", "fr"),
        ("quick-mode", {"quick_mode": "on"}, "quick_mode", 1),
    ],
)
def test_each_form_saves_through_the_domain(admin, db, path, data, setting, value):
    r = admin.post(f"/admin/setup/{path}", data=data, follow_redirects=True)
    assert r.status_code == 200 and "saved." in r.get_data(as_text=True)
    assert events.get_event(db)[setting] == value
    assert audit.entries(db, events.get_event(db)["id"])[0]["actor"] == "admin"


@pytest.mark.parametrize(
    "path,data,message",
    [
        ("topics", {"topics": "x" * 81}, "Topics not saved, nothing changed: topics 1"),
        ("topics", {"topics": "a\n" * 2001}, "more than 4000 characters"),
        ("topics", {"topics": "\n".join(f"t{i}" for i in range(41))}, "at most 40"),
        ("dates", {"starts_at": "7/10/2026"}, "is not a date"),
        ("dates", {"starts_at": "2026-10-09", "ends_at": "2026-10-07"}, "before the first"),
        ("timezone", {"timezone": "Europe/Atlantis"}, "unknown time zone"),
        ("counts", {}, "What counts not saved"),
        ("counts", {"counts": ["checkins", "hugs"]}, "What counts not saved"),
        ("moderation", {"moderation": ""}, "Moderation not saved"),
        ("language", {"language": "tlh"}, "unknown language"),
    ],
)
def test_bad_input_says_so_on_the_setup_page_and_changes_nothing(admin, db, path, data, message):
    before = settings(db)
    r = admin.post(f"/admin/setup/{path}", data=data, follow_redirects=True)
    assert r.status_code == 200
    assert r.request.path == "/admin/setup"
    page = r.get_data(as_text=True)
    assert 'class="flash error"' in page and message.replace("'", "&#39;") in page, page[-3000:]
    assert settings(db) == before


def test_location_language_form(admin, db, event):
    austin = events.location_by_slug(db, event["id"], "austin")
    r = admin.post(
        f"/admin/setup/locations/{austin['id']}/language",
        data={"language": "es"},
        follow_redirects=True,
    )
    assert "Austin&#39;s language saved." in r.get_data(as_text=True)
    assert events.location_by_slug(db, event["id"], "austin")["language"] == "es"
    before = settings(db)
    r = admin.post(
        f"/admin/setup/locations/{austin['id']}/language",
        data={"language": "xx"},
        follow_redirects=True,
    )
    assert "unknown language" in r.get_data(as_text=True)
    assert settings(db) == before
    assert admin.post("/admin/setup/locations/9999/language", data={}).status_code == 404


def test_setup_forms_are_for_organizers_only(client, db):
    before = settings(db)
    r = client.post("/admin/setup/timezone", data={"timezone": "Asia/Tokyo"})
    assert r.status_code in (302, 400)
    assert settings(db) == before
