"""What the organizer watches during the day: figures, quiet stations, the latest conversations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from . import bursts, moderation, rehearsal
from . import db as dbm
from .totals import event_progress

QUIET_AFTER = timedelta(hours=1)


def station_table(db: Database, event_id: int) -> list[dict]:
    """Every active station with its maintained totals, grouped by location."""
    return dbm.rows(
        db.execute(
            """SELECT l.name AS location, l.slug AS location_slug, l.timezone, s.id, s.name,
                      s.slug, s.kind, t.checkins, t.repeat_checkins, t.conversations,
                      t.promoters, t.passives, t.detractors, t.last_activity_at
                 FROM stations s JOIN locations l ON l.id = s.location_id
                 JOIN station_totals t ON t.station_id = s.id
                WHERE l.event_id = ? AND s.active = 1 AND l.active = 1
                ORDER BY l.name, s.name""",
            [event_id],
        )
    )


def quiet_stations(rows: list[dict], now: datetime | None = None) -> list[dict]:
    """Stations with nothing in the last hour: often a QR code that fell off the wall."""
    now = now or datetime.now(UTC)
    cutoff = (now - QUIET_AFTER).strftime("%Y-%m-%dT%H:%M:%S")
    return [r for r in rows if not r["last_activity_at"] or r["last_activity_at"] < cutoff]


def overview(db: Database, event: dict, burst_threshold: int = 30) -> dict:
    """The Today page: progress, locations, stations, quiet stations, the latest stories, the
    moderation queue's length, flagged bursts of new identities and rehearsal rows."""
    rows = station_table(db, event["id"])
    locations: dict[str, dict] = {}
    for r in rows:
        loc = locations.setdefault(
            r["location_slug"], {"name": r["location"], "checkins": 0, "conversations": 0}
        )
        loc["checkins"] += r["checkins"]
        loc["conversations"] += r["conversations"]
    return {
        "progress": event_progress(db, event),
        "stations": rows,
        "locations": list(locations.values()),
        "quiet": quiet_stations(rows),
        "latest": moderation.stories(db, event["id"], limit=15),
        "waiting": moderation.count(db, event["id"], "waiting"),
        "bursts": bursts.flagged(db, event["id"], burst_threshold),
        "burst_threshold": burst_threshold,
        "rehearsal": rehearsal.counts(db, event["id"]),
    }
