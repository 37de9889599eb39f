"""What the organizer watches during the day: figures, quiet stations, the latest conversations,
and what needs a decision (held records by address, bursts, rehearsal rows)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from ..corrections import bursts, holds, rehearsal
from ..store.db import Row
from ..store.totals import LocationRow, StationRow, by_location, event_progress
from ..stories import moderation

QUIET_AFTER = timedelta(hours=1)


def open_locations(db: Database, event: Row) -> list[LocationRow]:
    """The event's open locations, each with only its open stations (by name)."""
    return [
        {**loc, "stations": [s for s in loc["stations"] if s["active"]]}
        for loc in by_location(db, event)
        if loc["active"]
    ]


def station_table(locations: list[LocationRow]) -> list[StationRow]:
    """The stations of `locations`, one list, by location and name."""
    return [s for loc in locations for s in loc["stations"]]


def quiet_stations(rows: list[StationRow], now: datetime | None = None) -> list[StationRow]:
    """Stations with nothing in the last hour: often a QR code that fell off the wall."""
    now = now or datetime.now(UTC)
    cutoff = (now - QUIET_AFTER).strftime("%Y-%m-%dT%H:%M:%S")
    return [r for r in rows if not r["last_activity_at"] or r["last_activity_at"] < cutoff]


def overview(db: Database, event: Row, burst_threshold: int = 30) -> Row:
    """The Today page: progress, locations, stations, quiet stations, the latest stories, the
    moderation queue's length, held records by address (not counted in any figure here until
    trusted) with the venue's networks, flagged bursts of new identities and rehearsal rows
    (the location nodes are added by the console, from node/enrol.py)."""
    # Every location and station, closed ones marked: the tables add up to the headline, which
    # counts what a closed place recorded before it closed. Only open stations can be quiet.
    everything = by_location(db, event)
    rows = station_table(everything)
    return {
        "progress": event_progress(db, event),
        "stations": rows,
        "locations": [loc for loc in everything if loc["stations"]],
        "quiet": quiet_stations(station_table(open_locations(db, event))),
        "latest": moderation.stories(db, event["id"], limit=15),
        "waiting": moderation.count(db, event["id"], "waiting"),
        "held": holds.held(db, event["id"]),
        "networks": json.loads(event.get("networks") or "[]"),
        "bursts": bursts.flagged(db, event["id"], burst_threshold),
        "burst_threshold": burst_threshold,
        "rehearsal": rehearsal.counts(db, event["id"]),
    }
