"""The end-of-day report: goal against achieved, where, when, how people felt, what is still owed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from . import db as dbm
from .dashboard import open_locations
from .db import Row
from .followups import STATUSES
from .scoreboard import QUARTER_FORMAT, nps, nps_band
from .totals import engagements, event_progress


def build(db: Database, event: Row) -> Row:
    """Everything the report shows, computed once; an empty event gives zeros, not errors."""
    eid = event["id"]
    locations = [loc for loc in open_locations(db, event) if loc["stations"]]
    distribution = dict.fromkeys(range(11), 0)
    for score, n in db.execute(
        "SELECT v.nps, count(*) FROM conversations v JOIN stations s ON s.id = v.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ? AND v.nps IS NOT NULL"
        # the counting rules of the board: counted and not voided
        " AND v.counted = 1 AND v.voided_at IS NULL GROUP BY v.nps",
        [eid],
    ):
        distribution[score] = n
    bands = dict.fromkeys(("promoter", "passive", "detractor"), 0)
    for score, n in distribution.items():
        bands[nps_band(score)] += n
    topics = dbm.rows(
        db.execute(
            "SELECT t.value AS topic, count(*) AS n FROM conversations v, json_each(v.topics) t"
            " JOIN stations s ON s.id = v.station_id JOIN locations l ON l.id = s.location_id"
            " WHERE l.event_id = ? AND v.counted = 1 AND v.voided_at IS NULL"
            " GROUP BY t.value ORDER BY n DESC, topic LIMIT 10",
            [eid],
        )
    )
    follow_ups = dict.fromkeys(STATUSES, 0)
    for status, n in db.execute(
        "SELECT v.status, count(*) FROM conversations v JOIN stations s ON s.id = v.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ? AND v.follow_up = 1"
        " AND v.voided_at IS NULL GROUP BY v.status",
        [eid],
    ):
        follow_ups[status] = n
    return {
        "event": event,
        "progress": event_progress(db, event),
        "locations": sorted(locations, key=lambda loc: -loc["total"]),
        "location_bars": sorted(
            ((loc["name"], loc["total"]) for loc in locations), key=lambda p: -p[1]
        ),
        "hours": hours_by_location(db, event),
        "nps": {
            **nps(bands["promoter"], bands["passive"], bands["detractor"]),
            "distribution": distribution,
        },
        "topics": topics,
        "follow_ups": follow_ups,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def hours_by_location(db: Database, event: Row) -> list[Row]:
    """Engagements per hour of each location's own clock, to the minute: 10:00 in Sydney is
    10:00 on its chart, and a 07:26 engagement in Bengaluru (+05:30) is under 07:00. Summed
    from quarter-hour buckets, which every time zone's offset is a multiple of."""
    counts = event["counts"]
    per_location: dict[str, Row] = {}
    rows = db.execute(
        "SELECT l.name, l.timezone, q.quarter, sum(q.checkins), sum(q.conversations)"
        " FROM station_quarters q JOIN stations s ON s.id = q.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?"
        " GROUP BY l.id, q.quarter ORDER BY l.name, q.quarter",
        [event["id"]],
    )
    for name, tz, at, checkins, conversations in rows:
        local = datetime.strptime(at, QUARTER_FORMAT).replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
        entry = per_location.setdefault(
            name, {"name": name, "timezone": tz, "hours": defaultdict(int)}
        )
        label = local.strftime("%a %H:00")
        entry["hours"][label] += engagements(counts, checkins, conversations)
    result = []
    for entry in per_location.values():
        hours = list(entry["hours"].items())
        result.append({**entry, "hours": hours, "peak": max((n for _, n in hours), default=0)})
    return result


def nps_class(score: int) -> str:
    """The bar colour of a score in the distribution chart."""
    return {"promoter": "bar pro", "passive": "bar pas", "detractor": "bar det"}[nps_band(score)]


def render(data: Row, render_template: Callable[..., str]) -> str:
    """The report as one self-contained HTML page (shared by /admin/report and the CLI)."""
    return render_template("report.html", **data, nps_class=nps_class)
