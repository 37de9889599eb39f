"""The Experience Analytics Expo's figures (/insights, GET /api/insights): how customers felt,
by location, by topic and by hour of each location's own clock, what they talked about, and the
wall of stories they agreed to show.

Customers' figures only: a conversation counts here as it counts on the boards (counted and not
voided), never a rehearsal row and never an employee's story (those have no station, so every
join through stations leaves them out). Every query groups in SQL, so what Python reads is
bounded by locations x quarter hours x scores, or by topics x scores, or by the wall's LIMIT, not
by the number of conversations. Nothing personal leaves this module: no attendee, contact,
owner or staff name is ever selected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import cast, get_args
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from ..contract.responses import (
    HourNps,
    InsightChoices,
    InsightEmployeeStory,
    InsightEvent,
    InsightFilters,
    InsightPlace,
    Insights,
    InsightStory,
    InsightTalk,
    InsightTheme,
    LocationNps,
    Nps,
    NpsBand,
    TopicNps,
)
from ..store import db as dbm
from ..store.db import Row
from ..store.triggers import quarter
from ..stories import employees as employee_stories
from ..stories.text import short_story
from ..themes import listing as theme_listing
from .scoreboard import nps, nps_band, parse_quarter
from .themes import for_public

WALL_LIMIT = 30  # stories on the wall: a screenful, and a bounded read
BANDS: tuple[NpsBand, ...] = get_args(NpsBand)
# The score range of each band, for SQL.
BAND_RANGES: dict[str, tuple[int, int]] = {
    "promoter": (9, 10),
    "passive": (7, 8),
    "detractor": (0, 6),
}
# A customer's conversation, as the boards count it (not held either), minus rehearsal rows.
CUSTOMER = (
    "c.counted = 1 AND c.voided_at IS NULL AND c.held_from IS NULL AND c.station_id IS NOT NULL"
)
# A story on the wall: its teller let it be shown, it is approved, and it is not held.
ON_WALL = (
    "c.public = 1 AND c.approval = 'approved' AND c.voided_at IS NULL AND c.held_from IS NULL"
    " AND c.station_id IS NOT NULL"
)


class UnknownLocation(LookupError):
    """The event has no location with that slug."""


class UnknownBand(ValueError):
    """Not one of promoter, passive, detractor."""


class UnknownTheme(LookupError):
    """The event has no theme /insights may name with that id."""


TALK_THEMES = 5  # themes on each side of "what detractors / promoters talk about"


def places(db: Database, event_id: int) -> list[InsightPlace]:
    """The event's locations that have stations, by name: the location chips."""
    found = dbm.rows(
        db.execute(
            "SELECT l.slug, l.name, l.country FROM locations l WHERE l.event_id = ?"
            " AND EXISTS (SELECT 1 FROM stations s WHERE s.location_id = l.id)"
            " ORDER BY l.name",
            [event_id],
        )
    )
    return [InsightPlace(slug=p["slug"], name=p["name"], country=p["country"]) for p in found]


def figures(
    db: Database,
    event: Row,
    topic: str | None = None,
    location: str | None = None,
    band: str | None = None,
    limit: int = WALL_LIMIT,
    theme: int | None = None,
) -> Insights:
    """Everything /insights shows under the chosen filters (each None: all).

    `topic` is a topic's exact text (one no conversation names gives empty figures, not an
    error); `location` a location slug (UnknownLocation if the event has none such); `band`
    promoter, passive or detractor (UnknownBand otherwise); `theme` a theme's id among those
    that may be named here (UnknownTheme otherwise: a hidden theme, or one with no public name,
    is not a filter a visitor can find). The filters narrow the figures and the wall alike;
    the choices offered stay the same. `limit` caps the wall.
    """
    eid = event["id"]
    all_places = places(db, eid)
    if location is not None and location not in {p["slug"] for p in all_places}:
        raise UnknownLocation(location)
    if band is not None and band not in BAND_RANGES:
        raise UnknownBand(band)
    named = public_themes(db, eid)
    if theme is not None and theme not in {t["id"] for t in named}:
        raise UnknownTheme(theme)
    where, params = _where(eid, topic, location, band, theme)
    by_location = _bands_by(
        db.execute(
            f"SELECT l.slug, c.nps, count(*) FROM conversations c"
            f" JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
            f" WHERE {where} AND {CUSTOMER} AND c.nps IS NOT NULL GROUP BY l.slug, c.nps",
            params,
        )
    )
    topics = _topics(db, where, params)
    filters = InsightFilters(
        topic=topic, location=location, band=cast(NpsBand | None, band), theme=theme
    )
    event_topics = [t for t in event.get("topics", []) if isinstance(t, str)]
    return Insights(
        event=InsightEvent(slug=event["slug"], name=event["name"]),
        filters=filters,
        choices=InsightChoices(
            topics=event_topics + sorted({t["topic"] for t in topics} - set(event_topics)),
            locations=all_places,
            bands=list(BANDS),
            themes=named,
        ),
        nps=_sum_nps(by_location.values()),
        locations=[
            LocationNps(
                slug=p["slug"],
                name=p["name"],
                country=p["country"],
                nps=by_location.get(p["slug"], nps(0, 0, 0)),
            )
            for p in all_places
            if location is None or p["slug"] == location
        ],
        topics=topics,
        hours=_hours(db, where, params),
        stories=wall(db, eid, topic, location, band, limit, theme),
        talk=talk(named),
        employee_stories=(
            employee_wall(db, eid, location)
            if topic is None and band is None and theme is None
            else []
        ),
        updated_at=dbm.utcnow(),
    )


def public_themes(db: Database, event_id: int) -> list[InsightTheme]:
    """The customers' themes /insights may name, largest first (tracker.figures.themes: not
    hidden, and named from approved public stories or by an organizer)."""
    return [
        InsightTheme(id=t["id"], label=t["label"], size=t["size"], nps=t["nps"])
        for t in for_public(db, event_id)
    ]


def talk(named: list[InsightTheme]) -> InsightTalk:
    """What detractors talk about beside what promoters talk about: the themes with the most
    detractors (promoters), most first, at most TALK_THEMES each."""

    def most(band: str) -> list[InsightTheme]:
        ranked = sorted((t for t in named if t["nps"][band]), key=lambda t: -t["nps"][band])  # type: ignore[literal-required]
        return ranked[:TALK_THEMES]

    return InsightTalk(detractors=most("detractors"), promoters=most("promoters"))


def _where(
    event_id: int,
    topic: str | None,
    location: str | None,
    band: str | None,
    theme: int | None = None,
) -> tuple[str, list[object]]:
    """SQL conditions (on c: conversations, l: locations) for the filters, and their values."""
    where, params = ["l.event_id = ?"], [cast(object, event_id)]
    if location is not None:
        where.append("l.slug = ?")
        params.append(location)
    if topic is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(c.topics) t WHERE t.value = ?)")
        params.append(topic)
    if band is not None:
        low, high = BAND_RANGES[band]
        where.append("c.nps BETWEEN ? AND ?")
        params += [low, high]
    if theme is not None:
        where.append(theme_listing.in_theme("c"))
        params.append(theme)
    return " AND ".join(where), params


def _bands_by(rows: Iterable[tuple[str, int, int]]) -> dict[str, Nps]:
    """(key, score, count) rows -> the NPS of each key."""
    tally: dict[str, dict[str, int]] = {}
    for key, score, n in rows:
        bands = tally.setdefault(key, dict.fromkeys(BAND_RANGES, 0))
        bands[nps_band(score)] += n
    return {k: nps(b["promoter"], b["passive"], b["detractor"]) for k, b in tally.items()}


def _sum_nps(parts: Iterable[Nps]) -> Nps:
    listed = list(parts)
    return nps(
        sum(p["promoters"] for p in listed),
        sum(p["passives"] for p in listed),
        sum(p["detractors"] for p in listed),
    )


def _topics(db: Database, where: str, params: list[object]) -> list[TopicNps]:
    """Each topic named, most talked about first: its conversations (scored or not) and NPS."""
    counts: dict[str, int] = {}
    scores: list[tuple[str, int, int]] = []
    for name, score, n in db.execute(
        f"SELECT t.value, c.nps, count(*) FROM conversations c, json_each(c.topics) t"
        f" JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
        f" WHERE {where} AND {CUSTOMER} AND typeof(t.value) = 'text'"
        f" GROUP BY t.value, c.nps",
        params,
    ):
        counts[name] = counts.get(name, 0) + n
        if score is not None:
            scores.append((name, score, n))
    by_topic = _bands_by(scores)
    ordered = sorted(counts, key=lambda name: (-counts[name], name))
    return [
        TopicNps(topic=name, conversations=counts[name], nps=by_topic.get(name, nps(0, 0, 0)))
        for name in ordered
    ]


def _hours(db: Database, where: str, params: list[object]) -> list[HourNps]:
    """NPS by hour of the day on each location's own clock (09:00 in Sydney and 09:00 in Cork
    are one bar), from the first to the last hour with a conversation. Grouped by UTC quarter
    hour in SQL (every time zone's offset is a multiple of 15 minutes), placed in Python."""
    zones: dict[str, ZoneInfo] = {}
    tally: dict[int, dict[str, int]] = {}
    conversations: dict[int, int] = {}
    moment = "min(c.captured_at, c.received_at)"
    for tz, at, score, n in db.execute(
        f"SELECT l.timezone, {quarter(moment)} AS q, c.nps, count(*) FROM conversations c"
        f" JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
        f" WHERE {where} AND {CUSTOMER} GROUP BY l.timezone, q, c.nps",
        params,
    ):
        zone = zones.setdefault(tz, ZoneInfo(tz))
        hour = parse_quarter(at).astimezone(zone).hour
        conversations[hour] = conversations.get(hour, 0) + n
        bands = tally.setdefault(hour, dict.fromkeys(BAND_RANGES, 0))
        if score is not None:
            bands[nps_band(score)] += n
    if not conversations:
        return []
    return [
        HourNps(
            hour=h,
            conversations=conversations.get(h, 0),
            nps=nps(*(tally.get(h, {}).get(b, 0) for b in BAND_RANGES)),
        )
        for h in range(min(conversations), max(conversations) + 1)
    ]


def wall(
    db: Database,
    event_id: int,
    topic: str | None = None,
    location: str | None = None,
    band: str | None = None,
    limit: int = WALL_LIMIT,
    theme: int | None = None,
) -> list[InsightStory]:
    """The newest approved public stories of customers (not voided, not rehearsal) under the
    filters, newest first, at most `limit`: the story, where, its score and topics, never who."""
    where, params = _where(event_id, topic, location, band, theme)
    found = dbm.rows(
        db.execute(
            f"""
        SELECT c.story, s.name AS station, l.name AS location, l.slug AS location_slug,
               c.nps, c.topics, min(c.captured_at, c.received_at) AS at
          FROM conversations c INDEXED BY conversations_on_screens
          JOIN stations s ON s.id = c.station_id
          JOIN locations l ON l.id = s.location_id
         WHERE {ON_WALL} AND {where}
         ORDER BY c.received_at DESC
         LIMIT ?
        """,
            [*params, limit],
        )
    )
    return [
        InsightStory(
            story=short_story(row["story"]),
            station=row["station"],
            location=row["location"],
            location_slug=row["location_slug"],
            nps=row["nps"],
            band=cast(NpsBand, nps_band(row["nps"])) if row["nps"] is not None else None,
            topics=_topic_list(row["topics"]),
            at=row["at"],
        )
        for row in found
    ]


def _topic_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def employee_wall(
    db: Database, event_id: int, location: str | None = None, limit: int = WALL_LIMIT
) -> list[InsightEmployeeStory]:
    """Employees' approved public stories for a wall of their own, newest first: read from
    tracker.stories.employees, which owns what of them may show (never who told them)."""
    return [
        InsightEmployeeStory(story=row["story"], location=row["location"], at=row["at"])
        for row in employee_stories.wall(db, event_id, location_slug=location, limit=limit)
    ]
