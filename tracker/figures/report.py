"""The end-of-day report: goal against achieved, where, when, how people felt, what is still owed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlite_utils import Database

from ..actions import plan
from ..corrections import rehearsal
from ..followups.changes import STATUSES
from ..store import db as dbm
from ..store.db import Row
from ..store.totals import by_location, engagements, event_progress
from ..stories.text import reference
from . import insights
from .scoreboard import nps, nps_band, parse_quarter
from .themes import customers_told_us


def build(db: Database, event: Row, locale: str = "en") -> Row:
    """Everything the report shows, computed once; an empty event gives zeros, not errors.
    `locale` (Babel's name, "de", "pt_BR") writes what is written here rather than in the
    template: the hours' labels ("Mo. 14:00")."""
    eid = event["id"]
    # Every location that has stations, closed ones too (marked): the breakdown adds up to the
    # headline, which counts what closed places recorded before they closed.
    locations = [loc for loc in by_location(db, event) if loc["stations"]]
    distribution = dict.fromkeys(range(11), 0)
    for score, n in db.execute(
        "SELECT v.nps, count(*) FROM conversations v JOIN stations s ON s.id = v.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ? AND v.nps IS NOT NULL"
        # the counting rules of the board: counted, not voided, not held
        " AND v.counted = 1 AND v.voided_at IS NULL AND v.held_from IS NULL GROUP BY v.nps",
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
            " AND v.held_from IS NULL GROUP BY t.value ORDER BY n DESC, topic LIMIT 10",
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
    told, other_actions = with_actions(db, event, customers_told_us(db, eid))
    return {
        "event": event,
        "progress": event_progress(db, event),
        "locations": sorted(locations, key=lambda loc: -loc["total"]),
        "location_bars": sorted(
            ((loc["name"], loc["total"]) for loc in locations), key=lambda p: -p[1]
        ),
        "hours": hours_by_location(db, event, locale),
        "nps": {
            **nps(bands["promoter"], bands["passive"], bands["detractor"]),
            "distribution": distribution,
        },
        "topics": topics,
        "follow_ups": follow_ups,
        **leadership(db, event),
        "themes": told,
        "other_actions": other_actions,
        "rehearsal": rehearsal.counts(db, eid),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def with_actions(db: Database, event: Row, told: list[Row]) -> tuple[list[Row], list[Row]]:
    """Each theme of "What customers told us" with its actions (`actions`: owner, due day,
    status, overdue; the actions page's order), and the actions on every other theme or on
    none: the loop from voice to action, on one page. Overdue is against today in the event's
    time zone."""
    today = datetime.now(ZoneInfo(event["timezone"])).date().isoformat()
    by_theme = plan.by_theme(db, event["id"], today)
    shown = [{**theme, "actions": by_theme.pop(theme["id"], [])} for theme in told]
    return shown, [action for actions in by_theme.values() for action in actions]


HIGHLIGHTS_SHOWN = 12  # a handful: what organizers chose, not a dump
STAFF_SHOWN = 40
OWED_SHOWN = 60
DEFAULT_SLA_HOURS = 48  # FOLLOW_UP_SLA_HOURS' default, for an event that sets none


def leadership(db: Database, event: Row, now: datetime | None = None) -> Row:
    """The parts for leadership: customers' NPS per location and per topic (tracker.figures.insights:
    never voided, held or employees' rows; rehearsal rows while they exist, as everywhere), the highlighted stories, per-staff figures and
    the follow-ups still owed with owner and age (hours). Bounded: each list has a LIMIT, and
    `owed_total` / `staff_total` say how many there are in all."""
    eid = event["id"]
    figures = insights.figures(db, event, limit=0)
    highlights = dbm.rows(
        db.execute(
            "SELECT c.story, s.name AS station, l.name AS location"
            " FROM conversations c INDEXED BY conversations_highlights"
            " JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
            " WHERE c.highlight = 1 AND l.event_id = ? AND c.approval = 'approved'"
            " AND c.voided_at IS NULL AND c.held_from IS NULL"
            " AND c.source != 'employee' ORDER BY l.name, c.received_at LIMIT ?",
            [eid, HIGHLIGHTS_SHOWN],
        )
    )
    staff_rows = dbm.rows(
        db.execute(
            "SELECT coalesce(trim(c.staff_name), '') AS staff,"
            " count(*) AS conversations, sum(c.nps >= 9) AS promoters,"
            " sum(c.nps BETWEEN 7 AND 8) AS passives, sum(c.nps <= 6) AS detractors,"
            " count(DISTINCT s.id) AS stations"
            " FROM conversations c JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = s.location_id"
            f" WHERE l.event_id = ? AND c.source = 'staff' AND {insights.CUSTOMER}"
            " GROUP BY staff ORDER BY conversations DESC, staff",
            [eid],
        )
    )
    staff = [
        {
            "name": r["staff"] or None,  # the report says "(no name)" in its own language
            "conversations": r["conversations"],
            "stations": r["stations"],
            "nps": nps(r["promoters"] or 0, r["passives"] or 0, r["detractors"] or 0),
        }
        for r in staff_rows
    ]
    sla = int(event.get("follow_up_sla_hours") or DEFAULT_SLA_HOURS)
    current = now or datetime.now(UTC)
    owed_total = db.execute(
        "SELECT count(*) FROM conversations c JOIN stations s ON s.id = c.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ? AND c.follow_up = 1"
        " AND c.status IN ('open', 'acknowledged') AND c.voided_at IS NULL",
        [eid],
    ).fetchone()[0]
    owed = []
    for r in dbm.rows(
        db.execute(
            "SELECT c.id, c.owner, c.status, s.name AS station, l.name AS location,"
            " min(c.captured_at, c.received_at) AS at"
            " FROM conversations c JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ? AND c.follow_up = 1"
            " AND c.status IN ('open', 'acknowledged') AND c.voided_at IS NULL"
            " ORDER BY at, c.id LIMIT ?",
            [eid, OWED_SHOWN],
        )
    ):
        age = max(0.0, (current - dbm.parse_iso(r["at"])).total_seconds() / 3600)
        owed.append(
            {
                "reference": reference(r["id"]),
                "owner": (r["owner"] or "").strip() or None,
                "status": r["status"],
                "station": r["station"],
                "location": r["location"],
                "age_hours": round(age, 1),
                "overdue": r["status"] == "open" and age > sla,
            }
        )
    return {
        "customer_nps": figures["nps"],
        "nps_by_location": [loc for loc in figures["locations"] if loc["nps"]["responses"]],
        "nps_by_topic": figures["topics"][:15],
        "highlights": highlights,
        "staff": staff[:STAFF_SHOWN],
        "staff_total": len(staff),
        "owed": owed,
        "owed_total": owed_total,
        "sla_hours": sla,
    }


def hours_by_location(db: Database, event: Row, locale: str = "en") -> list[Row]:
    """Engagements per hour of each location's own clock, to the minute: 10:00 in Sydney is
    10:00 on its chart, and a 07:26 engagement in Bengaluru (+05:30) is under 07:00. Summed
    from quarter-hour buckets, which every time zone's offset is a multiple of. Each hour is
    labelled with its weekday as `locale` abbreviates it ("Tue 14:00", "Di. 14:00")."""
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
        local = parse_quarter(at).astimezone(ZoneInfo(tz))
        entry = per_location.setdefault(
            name, {"name": name, "timezone": tz, "hours": defaultdict(int)}
        )
        label = format_datetime(local, "EEE HH:00", locale=locale)
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
