"""Hours are grouped on each location's own clock, to the minute (+05:30, +05:45, -03:30)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracker.event import setup as eventsetup
from tracker.figures import report, scoreboard

from .helpers import add_checkins, add_conversation


@pytest.fixture
def zoned(db, event):
    """The test event with a station in Bengaluru (+05:30), one in Kathmandu (+05:45) and one in
    St. John's (-03:30 in November)."""
    made = {}
    for slug, tz, country in (
        ("bengaluru", "Asia/Kolkata", "IN"),
        ("kathmandu", "Asia/Kathmandu", "NP"),
        ("st-johns", "America/St_Johns", "CA"),
    ):
        location_id, _ = eventsetup.upsert_location(
            db, event["id"], slug, slug.title(), slug.title(), country, tz
        )
        station_id, _ = eventsetup.upsert_station(
            db, location_id, "booth", "Booth", "booth", "9999"
        )
        made[slug] = station_id
    return made


def test_the_report_puts_each_engagement_under_its_own_local_hour(db, event, zoned):
    # 07:26 in Bengaluru is 01:56 UTC; 07:26 in Kathmandu is 01:41 UTC; 07:26 in St. John's
    # is 10:56 UTC (Monday 2026-11-30).
    add_checkins(db, zoned["bengaluru"], at="2026-11-30T01:56:00.000Z")
    add_checkins(db, zoned["kathmandu"], at="2026-11-30T01:41:00.000Z")
    add_conversation(db, zoned["st-johns"], at="2026-11-30T10:56:00.000Z")
    # 08:00 sharp in Bengaluru is the next hour, not the same one.
    add_checkins(db, zoned["bengaluru"], at="2026-11-30T02:30:00.000Z")
    hours = {entry["name"]: dict(entry["hours"]) for entry in report.hours_by_location(db, event)}
    assert hours["Bengaluru"] == {"Mon 07:00": 1, "Mon 08:00": 1}
    assert hours["Kathmandu"] == {"Mon 07:00": 1}
    assert hours["St-Johns"] == {"Mon 07:00": 1}


def test_a_location_board_charts_hours_of_its_own_clock(db, event, zoned):
    add_checkins(db, zoned["bengaluru"], n=2, at="2026-11-30T01:56:00.000Z")  # 07:26 local
    add_checkins(db, zoned["bengaluru"], at="2026-11-30T02:29:59.000Z")  # 07:59:59 local
    add_checkins(db, zoned["bengaluru"], at="2026-11-30T02:30:00.000Z")  # 08:00 local
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 08:30 in Bengaluru
    snap = scoreboard.snapshot(db, event, "bengaluru", now=now)
    busy = {h["hour"]: h["checkins"] for h in snap["hours"] if h["checkins"]}
    # Each hour starts at :30 UTC, which is :00 on Bengaluru's clock.
    assert busy == {"2026-11-30T01:30:00Z": 3, "2026-11-30T02:30:00Z": 1}
    assert snap["hours"][-1]["hour"] == "2026-11-30T02:30:00Z"  # the hour of `now`, locally


def test_a_voided_engagement_leaves_its_quarter_hour(db, event, zoned):
    add_checkins(db, zoned["kathmandu"], at="2026-11-30T01:41:00.000Z")
    with db.conn:
        db.execute("UPDATE checkins SET voided_at = '2026-11-30T02:00:00Z'")
    quarters = db.execute("SELECT quarter, checkins FROM station_quarters").fetchall()
    assert quarters == [("2026-11-30T01:30", 0)]
    assert report.hours_by_location(db, event)[0]["hours"] == [("Mon 07:00", 0)]
