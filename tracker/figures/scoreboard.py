"""The scoreboard snapshot: what a big screen shows, read from the maintained totals.

Every query here walks stations (and their hours), or an index bounded by a LIMIT, never all
check-ins: the snapshot costs the same at a thousand check-ins as at a million. Station codes
never appear in a snapshot, because a code is what lets a phone check in.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from ..contract.responses import (
    Employees,
    EventFigures,
    EventRef,
    Hour,
    Leader,
    LocationTotals,
    Milestone,
    Nps,
    Scoreboard,
    StationTotals,
    Story,
    pick,
)
from ..event import countries
from ..store import db as dbm
from ..store import settings
from ..store.db import Row
from ..store.totals import LocationRow, by_location, engagements, progress
from ..stories import employees as employee_stories
from ..stories.text import short_story

MILESTONE_PERCENTS = (25, 50, 75, 100)
RECENT_LIMIT = 10  # stories in the ticker
HOURS_SHOWN = 24  # bars in the per-hour chart
LEADERBOARD_SIZE = 10

# Keys that change on every computation; two snapshots that differ only here are the same news.
VOLATILE_KEYS = ("updated_at",)


class UnknownLocation(LookupError):
    """The event has no location with that slug."""


def central_snapshot(db: Database) -> tuple[Row | None, str | None]:
    """On a location node: the whole event's figures as central last sent them (stored by
    node/pull.py under `node_snapshot`), and when central made them; (None, None) elsewhere."""
    text = settings.get(db, "node_snapshot")
    if not text:
        return None, None
    return _parsed_snapshot(text)


@lru_cache(maxsize=1)
def _parsed_snapshot(text: str) -> tuple[Row, str]:
    """Parsed once per pull, not on every board update (callers only read it)."""
    saved = json.loads(text)
    return saved["snapshot"], saved["at"]


def snapshot(
    db: Database, event: Row, location: str | None = None, now: datetime | None = None
) -> Scoreboard:
    """The scoreboard for the whole event, or with one location's detail (the event total stays);
    `now` (UTC) is when it is read: the hours chart ends at that hour."""
    return snapshots(db, event, [location], now=now)[location]


def snapshots(
    db: Database,
    event: Row,
    locations: list[str | None],
    skip_unknown: bool = False,
    now: datetime | None = None,
) -> dict[str | None, Scoreboard]:
    """Snapshots for several screens at once, sharing the event-wide reads between them.

    `None` stands for the whole event; a slug the event does not have raises UnknownLocation, or
    is left out with `skip_unknown`. A closed (inactive) location's screen gets a snapshot whose
    `location.active` is false, so it can say so and show the event's figures. On a location
    node, `as_of` is when central made the event-wide figures (None on central).
    """
    rolled = by_location(db, event)
    local = _event_part(event, rolled, milestone_epoch(db, event["id"], int(event["goal"])))
    # On a location node the whole event's figures are central's, as of its last pull; the
    # node's own location comes from its own file, live (README, Plan B).
    central, as_of = central_snapshot(db)
    base = pick(EventFigures, central) if central is not None else local
    known = {loc["slug"]: loc for loc in local["locations"]}
    out: dict[str | None, Scoreboard] = {}
    for slug in locations:
        if slug is not None and slug not in known:
            closed = _closed_location(rolled, slug)
            if closed is None:
                if skip_unknown:
                    continue
                raise UnknownLocation(slug)
            known[slug] = closed
        here = known[slug] if slug is not None else None
        zone = here["timezone"] if here is not None else event["timezone"]
        out[slug] = Scoreboard(
            **base,
            location=here,
            hours=(
                central["hours"]
                if central is not None and slug is None
                else _hours(db, event, zone, slug, now or datetime.now(UTC))
            ),
            recent=(
                central["recent"]
                if central is not None and slug is None
                else recent_stories(db, event, slug)
            ),
            updated_at=dbm.utcnow(),
            as_of=as_of,
            # Employees' stories (?employees=1): their own count and ticker, never in the totals.
            employees=Employees(
                count=employee_stories.count(db, event["id"], slug),
                recent=employee_stories.wall(db, event["id"], slug, RECENT_LIMIT),
            ),
        )
    return out


def _closed_location(rolled: list[LocationRow], slug: str) -> LocationTotals | None:
    """A location that is closed and has nothing recorded (so not on the board), or None."""
    for loc in rolled:
        if loc["slug"] == slug:
            return _location_totals(loc, [])
    return None


def comparable(snap: Scoreboard) -> Row:
    """The part of a snapshot that is news: everything but the moment it was computed."""
    return {k: v for k, v in snap.items() if k not in VOLATILE_KEYS}


def milestone_values(goal: int) -> list[int]:
    """The engagement counts at 25, 50, 75 and 100% of the goal (rounded up: reached, not nearly)."""
    return [math.ceil(goal * p / 100) for p in MILESTONE_PERCENTS]


def nps_band(score: int) -> str:
    """Where a 0-10 answer falls: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def nps(promoters: int, passives: int, detractors: int) -> Nps:
    """NPS = % promoters - % detractors over the scored conversations; None before the first score."""
    responses = promoters + passives + detractors
    score = round(100 * (promoters - detractors) / responses) if responses else None
    return Nps(
        score=score,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        responses=responses,
    )


def _event_part(event: Row, rolled: list[LocationRow], epoch: str) -> EventFigures:
    """Totals, NPS, milestones, locations and stations from the roll-up of the stations' totals."""
    shown: list[LocationTotals] = []
    for loc in rolled:
        # A retired station keeps its engagements on the board; one that never had any leaves it.
        stations = [
            pick(StationTotals, s)
            for s in loc["stations"]
            if (s["active"] and loc["active"]) or s["total"]
        ]
        stations.sort(key=lambda s: (-s["total"], s["name"]))
        if loc["active"] or loc["total"]:
            shown.append(_location_totals(loc, stations))
    shown.sort(key=lambda loc: (-loc["total"], loc["name"]))
    leaderboard = sorted(
        (
            pick(Leader, st, location=loc["name"], location_slug=loc["slug"])
            for loc in shown
            for st in loc["stations"]
            if st["total"]  # at zero there is no one to lead
        ),
        key=lambda s: (-s["total"], s["name"], s["location"]),
    )[:LEADERBOARD_SIZE]

    def summed(key: str) -> int:
        return sum(loc[key] for loc in rolled)  # type: ignore[literal-required]

    figures = progress(event, summed("checkins"), summed("conversations"))
    total, goal = figures["total"], figures["goal"]
    marks = [
        Milestone(percent=p, value=v, reached=total >= v)
        for p, v in zip(MILESTONE_PERCENTS, milestone_values(goal), strict=True)
    ]
    activity = [loc["last_activity_at"] for loc in rolled if loc["last_activity_at"]]
    return EventFigures(
        event=EventRef(
            slug=event["slug"],
            name=event["name"],
            goal=goal,
            timezone=event["timezone"],
            country=countries.of_timezone(event["timezone"]),
            counts=list(event["counts"]),
        ),
        total=total,
        checkins=figures["checkins"],
        conversations=figures["conversations"],
        percent=figures["percent"],
        goal_reached=total >= goal,
        nps=nps(summed("promoters"), summed("passives"), summed("detractors")),
        milestones=[m["value"] for m in marks if m["reached"]],
        milestone_marks=marks,
        milestone_epoch=epoch,
        locations=shown,
        leaderboard=leaderboard,
        last_activity_at=max(activity, default=None),
    )


def milestone_epoch(db: Database, event_id: int, goal: int) -> str:
    """Which run of the day a screen celebrates: the goal and the last rehearsal clear. Screens
    remember the milestones they celebrated under this epoch, so a clear or a new goal starts
    their celebrations afresh (the milestones of the real day), whenever a screen was opened."""
    (cleared,) = db.execute(
        "SELECT coalesce(max(id), 0) FROM audit WHERE event_id = ? AND action = 'rehearsal.clear'",
        [event_id],
    ).fetchone()
    return f"{goal}.{cleared}"


def _location_totals(loc: LocationRow, stations: list[StationTotals]) -> LocationTotals:
    score = nps(loc["promoters"], loc["passives"], loc["detractors"])
    return pick(LocationTotals, loc, nps=score, stations=stations)


def _hours(
    db: Database, event: Row, timezone: str, location: str | None, now: datetime
) -> list[Hour]:
    """Engagements per hour of the screen's local clock (`timezone`) over a window of
    HOURS_SHOWN hours, gaps as zeros: summed from quarter-hour buckets, so a location at +05:30
    gets its own 09:00-10:00, not the UTC hour's."""
    where, params = "l.event_id = ?", [event["id"]]
    if location is not None:
        where += " AND l.slug = ?"
        params.append(location)
    zone = ZoneInfo(timezone)

    def window(end: datetime) -> tuple[datetime, dict[int, list[int]]]:
        """From the start of the local hour holding `end`, back HOURS_SHOWN hours."""
        local_end = end.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        start = local_end.astimezone(UTC) - timedelta(hours=HOURS_SHOWN - 1)
        found: dict[int, list[int]] = {}
        for at, checkins, conversations in db.execute(
            f"SELECT q.quarter, sum(q.checkins), sum(q.conversations) FROM station_quarters q"
            f" JOIN stations s ON s.id = q.station_id JOIN locations l ON l.id = s.location_id"
            f" WHERE {where} AND q.quarter >= ? GROUP BY q.quarter",
            [*params, start.strftime(QUARTER_FORMAT)],
        ):
            index = int((parse_quarter(at) - start) / timedelta(hours=1))
            if index < HOURS_SHOWN:
                sums = found.setdefault(index, [0, 0])
                sums[0] += checkins
                sums[1] += conversations
        return start, found

    # The window ends now while the event is on; long after it, at its last busy hour.
    start, found = window(now)
    if not found:
        latest = db.execute(
            f"SELECT max(q.quarter) FROM station_quarters q JOIN stations s ON s.id = q.station_id"
            f" JOIN locations l ON l.id = s.location_id WHERE {where}",
            params,
        ).fetchone()[0]
        if latest:
            start, found = window(parse_quarter(latest))
    counts = event["counts"]
    hours = []
    for i in range(HOURS_SHOWN):
        checkins, conversations = found.get(i, (0, 0))
        hours.append(
            Hour(
                hour=(start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:00Z"),
                checkins=checkins,
                conversations=conversations,
                total=engagements(counts, checkins, conversations),
            )
        )
    # A day of empty bars before the first activity says nothing; keep a short run of them.
    while len(hours) > 6 and not (hours[0]["checkins"] or hours[0]["conversations"]):
        hours.pop(0)
    return hours


QUARTER_FORMAT = "%Y-%m-%dT%H:%M"  # station_quarters.quarter, UTC


def parse_quarter(at: str) -> datetime:
    """A station_quarters.quarter ('YYYY-MM-DDTHH:MM', UTC) as an aware datetime; fromisoformat,
    not strptime, which costs ~40 times as much on the up to 96 rows of each screen's update."""
    return datetime.fromisoformat(at).replace(tzinfo=UTC)


def recent_stories(db: Database, event: Row, location: str | None = None) -> list[Story]:
    """The newest stories on public screens, as plain text: marked public by their teller,
    approved (staff stories at once unless the event moderates all), not voided, and not held
    (an organizer's approval does not put a held story on screens: trusting its network does)."""
    where, params = "l.event_id = ?", [event["id"]]
    if location is not None:
        where += " AND l.slug = ?"
        params.append(location)
    rows = dbm.rows(
        db.execute(
            f"""
        SELECT c.story, s.name AS station, l.name AS location, l.slug AS location_slug,
               min(c.captured_at, c.received_at) AS at, c.nps
          FROM conversations c INDEXED BY conversations_on_screens
          JOIN stations s ON s.id = c.station_id
          JOIN locations l ON l.id = s.location_id
         WHERE c.public = 1 AND c.approval = 'approved' AND c.voided_at IS NULL
           AND c.held_from IS NULL AND c.story != '' AND {where}
         ORDER BY c.received_at DESC
         LIMIT ?
        """,
            [*params, RECENT_LIMIT],
        )
    )
    return [pick(Story, row, story=short_story(row["story"])) for row in rows]
