"""The event's figures from the maintained per-station totals: cheap enough for every check-in.

`by_location` is the one roll-up of stations into locations that the board, Today and the
report all start from.
"""

from __future__ import annotations

from typing import TypedDict

from sqlite_utils import Database

from ..contract.responses import Progress, pick
from . import db as dbm
from .db import Row


class StationRow(TypedDict):
    """A station with its maintained totals (station_totals, kept by the schema's triggers)."""

    id: int
    slug: str
    name: str
    kind: str
    active: bool
    total: int  # engagements as the event counts them
    checkins: int  # counted: first visits
    repeat_checkins: int
    conversations: int
    promoters: int
    passives: int
    detractors: int
    last_activity_at: str | None
    location: str  # the location's name
    location_slug: str
    timezone: str


class LocationRow(TypedDict):
    """A location with the sums of its stations."""

    slug: str
    name: str
    city: str
    country: str
    timezone: str
    active: bool
    total: int
    checkins: int
    conversations: int
    promoters: int
    passives: int
    detractors: int
    last_activity_at: str | None
    stations: list[StationRow]  # by name


_SUMMED = ("total", "checkins", "conversations", "promoters", "passives", "detractors")


def engagements(counts: list[str], checkins: int, conversations: int) -> int:
    """What the event counts as engagements (its `counts` setting): check-ins, conversations or both."""
    return (checkins if "checkins" in counts else 0) + (
        conversations if "conversations" in counts else 0
    )


def by_location(db: Database, event: Row) -> list[LocationRow]:
    """Every location of the event (by name), each with its stations and their sums.

    One pass over locations x stations, never over check-ins: the same cost at a thousand
    check-ins as at a million. Closed locations and stations are included (`active` false).
    """
    found = dbm.rows(
        db.execute(
            """
            SELECT l.slug AS location_slug, l.name AS location, l.city, l.country, l.timezone,
                   l.active AS location_active, s.id, s.slug, s.name, s.kind, s.active,
                   ifnull(t.checkins, 0) AS checkins,
                   ifnull(t.repeat_checkins, 0) AS repeat_checkins,
                   ifnull(t.conversations, 0) AS conversations,
                   ifnull(t.promoters, 0) AS promoters, ifnull(t.passives, 0) AS passives,
                   ifnull(t.detractors, 0) AS detractors, t.last_activity_at
              FROM locations l
              LEFT JOIN stations s ON s.location_id = l.id
              LEFT JOIN station_totals t ON t.station_id = s.id
             WHERE l.event_id = ?
             ORDER BY l.name, l.id, s.name
            """,
            [event["id"]],
        )
    )
    counts = event["counts"]
    locations: dict[str, LocationRow] = {}
    for r in found:
        loc = locations.get(r["location_slug"])
        if loc is None:
            loc = locations[r["location_slug"]] = pick(
                LocationRow,
                r,
                slug=r["location_slug"],
                name=r["location"],
                active=bool(r["location_active"]),
                last_activity_at=None,
                stations=[],
                **dict.fromkeys(_SUMMED, 0),
            )
        if r["id"] is None:
            continue  # a location without stations
        total = engagements(counts, r["checkins"], r["conversations"])
        row = pick(StationRow, r, active=bool(r["active"]), total=total)
        loc["stations"].append(row)
        for key in _SUMMED:
            loc[key] += row[key]  # type: ignore[literal-required]
        at = row["last_activity_at"]
        if at and (loc["last_activity_at"] is None or at > loc["last_activity_at"]):
            loc["last_activity_at"] = at
    return list(locations.values())


def event_progress(db: Database, event: Row) -> Progress:
    """Engagements so far against the goal; only the kinds the event counts add to the total."""
    checkins, conversations = db.execute(
        "SELECT ifnull(sum(t.checkins), 0), ifnull(sum(t.conversations), 0)"
        " FROM station_totals t JOIN stations s ON s.id = t.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?",
        [event["id"]],
    ).fetchone()
    return progress(event, checkins, conversations)


def progress(event: Row, checkins: int, conversations: int) -> Progress:
    """The progress figures from the event's sums (the check-in answer and the scoreboard)."""
    total = engagements(event["counts"], checkins, conversations)
    return Progress(
        total=total,
        goal=event["goal"],
        checkins=checkins,
        conversations=conversations,
        percent=round(100 * total / event["goal"], 1),
    )
