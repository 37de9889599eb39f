"""The scoreboard snapshot (domain) and its HTTP face: GET /api/scoreboard, /board pages."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from tracker.corrections import rehearsal
from tracker.event import lookups as events
from tracker.event import settings as eventsettings
from tracker.event import setup as eventsetup
from tracker.figures import scoreboard
from tracker.store import db as dbm
from tracker.stories import text
from tracker.web.board import kiosk_options

from .helpers import add_checkins, add_conversation, sid


def fresh(db, event: dict) -> dict:
    """The event as stored now (counts, goal) plus its stations."""
    ev = events.get_event(db, event["slug"])
    ev["stations"] = event["stations"]
    return ev


# ---- the snapshot ----------------------------------------------------------------------------


def test_an_empty_event_has_every_location_and_station_at_zero(db, event):
    snap = scoreboard.snapshot(db, event)
    assert snap["event"] == {
        "slug": "test-day",
        "name": "Test Day",
        "goal": 20,
        "timezone": "Europe/Dublin",
        "country": "IE",
        "counts": ["checkins", "conversations"],
    }
    assert (snap["total"], snap["checkins"], snap["conversations"]) == (0, 0, 0)
    assert snap["nps"] == {
        "score": None,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "responses": 0,
    }
    assert snap["milestones"] == [] and snap["goal_reached"] is False
    assert [m["value"] for m in snap["milestone_marks"]] == [5, 10, 15, 20]
    assert {loc["slug"]: [s["slug"] for s in loc["stations"]] for loc in snap["locations"]} == {
        "austin": ["stories"],
        "cork": ["demo", "booth"],
    }
    assert snap["recent"] == [] and snap["location"] is None
    assert all(h["total"] == 0 for h in snap["hours"])


def test_station_codes_never_appear(db, event):
    add_checkins(db, sid(event, "booth"), 3)
    add_conversation(db, sid(event, "stories"), "Story", nps=9, public=True)
    for location in (None, "cork", "austin"):
        text = json.dumps(scoreboard.snapshot(db, event, location))
        for station in event["stations"].values():
            assert station["code"] not in text


def test_counts_checkins_once_per_attendee_and_station_plus_conversations(db, event):
    add_checkins(db, sid(event, "booth"), 3)
    attendee = db.execute("SELECT id FROM attendees LIMIT 1").fetchone()[0]
    add_checkins(db, sid(event, "booth"), 2, attendee_id=attendee)  # repeats: stored, not counted
    add_checkins(db, sid(event, "stories"), 1)
    add_conversation(db, sid(event, "demo"))
    snap = scoreboard.snapshot(db, event)
    assert (snap["total"], snap["checkins"], snap["conversations"]) == (5, 4, 1)
    assert snap["percent"] == 25.0
    cork = next(loc for loc in snap["locations"] if loc["slug"] == "cork")
    assert cork["total"] == 4
    assert [(s["slug"], s["total"]) for s in cork["stations"]] == [("booth", 3), ("demo", 1)]
    assert [loc["slug"] for loc in snap["locations"]] == ["cork", "austin"]  # busiest first
    assert [(s["slug"], s["location"]) for s in snap["leaderboard"]] == [
        ("booth", "Cork"),
        ("demo", "Cork"),
        ("stories", "Austin"),
    ]


@pytest.mark.parametrize(
    ("counts", "total"),
    [('["checkins"]', 3), ('["conversations"]', 2), ('["checkins", "conversations"]', 5)],
)
def test_only_the_kinds_the_event_counts_add_up(db, event, counts, total):
    with dbm.write(db):
        db.execute("UPDATE events SET counts = ? WHERE id = ?", [counts, event["id"]])
    add_checkins(db, sid(event, "booth"), 3)
    add_conversation(db, sid(event, "booth"))
    add_conversation(db, sid(event, "stories"))
    snap = scoreboard.snapshot(db, fresh(db, event))
    assert snap["total"] == total
    assert sum(loc["total"] for loc in snap["locations"]) == total
    assert (snap["checkins"], snap["conversations"]) == (3, 2)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], None),
        ([10, 9, 8, 3], 25),  # 2 promoters, 1 passive, 1 detractor: 50% - 25%
        ([0, 6, 7], -67),
        ([9], 100),
        ([7, 8], 0),
    ],
)
def test_nps_is_promoters_minus_detractors_over_scored_conversations(db, event, scores, expected):
    add_conversation(db, sid(event, "booth"))  # unscored: not a response
    for score in scores:
        add_conversation(db, sid(event, "booth"), nps=score)
    snap = scoreboard.snapshot(db, event)
    assert snap["nps"]["score"] == expected
    assert snap["nps"]["responses"] == len(scores)


@pytest.mark.parametrize(
    ("engagements", "milestones"),
    [(4, []), (5, [5]), (9, [5]), (10, [5, 10]), (19, [5, 10, 15]), (20, [5, 10, 15, 20])],
)
def test_milestones_reached_at_quarters_of_the_goal(db, event, engagements, milestones):
    add_checkins(db, sid(event, "demo"), engagements)
    snap = scoreboard.snapshot(db, event)
    assert snap["milestones"] == milestones
    assert snap["goal_reached"] is (engagements >= 20)


@pytest.mark.parametrize(("goal", "values"), [(1000, [250, 500, 750, 1000]), (30, [8, 15, 23, 30])])
def test_milestone_values_round_up(goal, values):
    assert scoreboard.milestone_values(goal) == values


def test_a_location_snapshot_keeps_the_event_total_and_adds_its_own(db, event):
    add_checkins(db, sid(event, "booth"), 4)
    add_checkins(db, sid(event, "stories"), 2)
    add_conversation(db, sid(event, "stories"), "From Austin", nps=10, public=True)
    add_conversation(db, sid(event, "booth"), "From Cork", nps=2, public=True)
    whole = scoreboard.snapshot(db, event)
    austin = scoreboard.snapshot(db, event, "austin")
    assert austin["total"] == whole["total"] == 8
    assert austin["location"]["slug"] == "austin" and austin["location"]["total"] == 3
    assert austin["location"]["nps"]["score"] == 100 and whole["nps"]["score"] == 0
    assert [r["story"] for r in austin["recent"]] == ["From Austin"]
    assert sum(h["total"] for h in austin["hours"]) == 3
    assert sum(h["total"] for h in whole["hours"]) == 8
    with pytest.raises(scoreboard.UnknownLocation):
        scoreboard.snapshot(db, event, "nowhere")


def test_recent_stories_are_public_unhidden_newest_first_bounded_and_plain_text(db, event):
    add_conversation(db, sid(event, "booth"), "private", public=False)
    add_conversation(db, sid(event, "booth"), "hidden by a moderator", public=True, hidden=True)
    for i in range(scoreboard.RECENT_LIMIT + 3):
        add_conversation(
            db, sid(event, "booth"), f"story {i:02d}", public=True, at=f"2026-10-07T10:{i:02d}:00Z"
        )
    add_conversation(db, sid(event, "stories"), "<b>bold</b>\n\n" + "word " * 100, public=True)
    recent = scoreboard.snapshot(db, event)["recent"]
    assert len(recent) == scoreboard.RECENT_LIMIT
    assert recent[0]["story"].startswith("<b>bold</b> word")  # text as told, one line
    assert recent[0]["story"].endswith("…") and len(recent[0]["story"]) <= text.STORY_CHARS
    assert recent[0]["location"] == "Austin" and recent[0]["station"] == "Story corner"
    assert [r["story"] for r in recent[1:4]] == ["story 12", "story 11", "story 10"]
    assert not {"private", "hidden by a moderator"} & {r["story"] for r in recent}


def test_hours_are_contiguous_utc_buckets_with_gaps_as_zero(db, event):
    add_checkins(db, sid(event, "booth"), 2, at="2026-10-07T08:15:00.000Z")
    add_checkins(db, sid(event, "stories"), 3, at="2026-10-07T10:59:00.000Z")
    add_conversation(db, sid(event, "demo"), at="2026-10-07T10:01:00.000Z")
    read_at = datetime(2026, 10, 7, 11, 30, tzinfo=UTC)  # during the day, whatever today is
    hours = {h["hour"]: h for h in scoreboard.snapshot(db, event, now=read_at)["hours"]}
    assert list(hours)[-1] == "2026-10-07T11:00:00Z"  # the chart ends at the hour of reading
    assert hours["2026-10-07T08:00:00Z"]["total"] == 2
    assert hours["2026-10-07T09:00:00Z"]["total"] == 0
    assert hours["2026-10-07T10:00:00Z"] == {
        "hour": "2026-10-07T10:00:00Z",
        "checkins": 3,
        "conversations": 1,
        "total": 4,
    }
    assert len(hours) <= scoreboard.HOURS_SHOWN


def test_the_snapshot_reads_totals_never_the_checkins_table(db, event):
    """Its cost follows stations: SQLite's authorizer sees every table each statement reads, and
    neither check-ins nor attendees (the big tables) is among them."""
    add_checkins(db, sid(event, "booth"), 5)
    add_conversation(db, sid(event, "booth"), "hi", public=True)
    tables: set[str] = set()

    def watch(action, table, column, database, trigger):
        if action == sqlite3.SQLITE_READ and trigger is None:
            tables.add(table)
        return sqlite3.SQLITE_OK

    db.conn.set_authorizer(watch)
    try:
        scoreboard.snapshot(db, event)
        scoreboard.snapshot(db, event, "cork")
    finally:
        db.conn.set_authorizer(None)
    assert {"station_totals", "stations", "locations"} <= tables
    assert not tables & {"checkins", "attendees"}


def test_comparable_ignores_only_the_moment_of_computing(db, event):
    a = scoreboard.snapshot(db, event)
    b = scoreboard.snapshot(db, event)
    assert scoreboard.comparable(a) == scoreboard.comparable(b)
    add_checkins(db, sid(event, "booth"))
    assert scoreboard.comparable(scoreboard.snapshot(db, event)) != scoreboard.comparable(a)


def test_a_retired_station_keeps_its_engagements_on_the_board(db, event):
    add_checkins(db, sid(event, "demo"), 2)
    eventsetup.set_active(db, "stations", sid(event, "demo"), False)
    eventsetup.set_active(db, "stations", sid(event, "booth"), False)
    cork = next(loc for loc in scoreboard.snapshot(db, event)["locations"] if loc["slug"] == "cork")
    assert [s["slug"] for s in cork["stations"]] == ["demo"]  # booth had none: gone


# ---- HTTP --------------------------------------------------------------------------------------


def test_api_scoreboard_is_the_domain_snapshot(client, db, event):
    add_checkins(db, sid(event, "booth"), 2)
    add_conversation(db, sid(event, "stories"), "Said <script>x</script>", nps=9, public=True)
    r = client.get("/api/scoreboard")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert scoreboard.comparable(r.json) == scoreboard.comparable(scoreboard.snapshot(db, event))
    r = client.get("/api/scoreboard?location=austin")
    assert r.json["location"]["slug"] == "austin" and r.json["total"] == 3


def test_api_scoreboard_unknown_location_is_a_json_404(client):
    r = client.get("/api/scoreboard?location=atlantis")
    assert r.status_code == 404
    assert r.json["error"] == "unknown_location" and "atlantis" in r.json["detail"]


@pytest.mark.parametrize("path", ["/board", "/board/cork", "/board/austin?theme=light&rotate=20"])
def test_board_pages_carry_their_snapshot_and_no_station_code(client, db, event, path):
    add_checkins(db, sid(event, "booth"), 7)
    r = client.get(path)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Test Day" in page and "socket.io.min.js" in page and "chart.umd.min.js" in page
    embedded = page.split('<script type="application/json" id="snapshot">')[1].split("</script>")[0]
    assert json.loads(embedded)["total"] == 7
    for station in event["stations"].values():
        assert station["code"] not in page
    assert "//" not in "".join(
        part.split('"')[0] for part in page.split('src="')[1:]
    )  # every script from this host


def test_board_for_an_unknown_location_is_404(client):
    assert client.get("/board/atlantis").status_code == 404


def test_board_snapshot_is_escaped_inside_the_page(client, db, event):
    add_conversation(db, sid(event, "booth"), "</script><img src=x onerror=alert(1)>", public=True)
    page = client.get("/board").get_data(as_text=True)
    assert "</script><img" not in page and "<img src=x" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"theme": "dark", "rotate": 0, "reload": 360}),
        ({"theme": "light"}, {"theme": "light", "rotate": 0, "reload": 360}),
        ({"theme": "neon"}, {"theme": "dark", "rotate": 0, "reload": 360}),
        ({"rotate": "45"}, {"theme": "dark", "rotate": 45, "reload": 360}),
        ({"rotate": "2"}, {"theme": "dark", "rotate": 10, "reload": 360}),
        ({"rotate": "yes"}, {"theme": "dark", "rotate": 30, "reload": 360}),
        ({"rotate": ""}, {"theme": "dark", "rotate": 30, "reload": 360}),
        ({"rotate": "off"}, {"theme": "dark", "rotate": 0, "reload": 360}),
        ({"reload": "0"}, {"theme": "dark", "rotate": 0, "reload": 0}),
        ({"reload": "-5"}, {"theme": "dark", "rotate": 0, "reload": 360}),
    ],
)
def test_kiosk_options_from_the_url(query, expected):
    assert kiosk_options(query) == expected


def test_the_leaderboard_lists_only_stations_with_engagements(db, event):
    assert scoreboard.snapshot(db, event)["leaderboard"] == []
    add_checkins(db, event["stations"]["demo"]["id"], n=2)
    leaders = scoreboard.snapshot(db, event)["leaderboard"]
    assert [(s["name"], s["total"]) for s in leaders] == [("Demo corner", 2)]


def test_the_milestone_epoch_moves_with_a_rehearsal_clear_and_a_new_goal(db, event):
    first = scoreboard.snapshot(db, event)["milestone_epoch"]
    assert scoreboard.snapshot(db, event)["milestone_epoch"] == first  # stable between reads
    rehearsal.clear(db, event["id"])
    cleared = scoreboard.snapshot(db, event)["milestone_epoch"]
    assert cleared != first
    eventsettings.set_goal(db, event["id"], 500, "organizer")
    assert scoreboard.snapshot(db, events.get_event(db))["milestone_epoch"] not in (first, cleared)
