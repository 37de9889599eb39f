"""Every conversation of an event for the organizer's list: staff-logged, attendees' own and
employees' stories, filtered, searched and read a page at a time (the list never loads them all).

Employees' stories belong to a location and no station, so the location is found through the
conversation's own location_id first and its station's second.
"""

from __future__ import annotations

import json
from typing import Literal, TypedDict, get_args

from sqlite_utils import Database

from ..store import db as dbm
from ..store.db import Row
from .moderation import search_clause
from .text import reference_sql

Source = Literal["staff", "attendee", "employee"]
SOURCES: tuple[str, ...] = get_args(Source)
PAGE_SIZE = 50

_FROM = """FROM conversations v LEFT JOIN stations s ON s.id = v.station_id
           JOIN locations l ON l.id = coalesce(s.location_id, v.location_id)"""


class Filters(TypedDict, total=False):
    """What the list can be narrowed to: `location` (a slug), `station` (an id), `source`
    (staff, attendee or employee) and `q`, a search in story, station, location and staff name."""

    location: str | None
    station: int | None
    source: str | None
    q: str | None


def _where(event_id: int, filters: Filters, with_source: bool = True) -> tuple[str, list[object]]:
    """WHERE clause and parameters; ValueError for a source that is none of SOURCES."""
    where = ["l.event_id = ?"]
    params: list[object] = [event_id]
    if location := filters.get("location"):
        where.append("l.slug = ?")
        params.append(location)
    if (station := filters.get("station")) is not None:
        where.append("v.station_id = ?")
        params.append(station)
    source = filters.get("source")
    if source and source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (use one of {', '.join(SOURCES)})")
    if source and with_source:
        where.append("v.source = ?")
        params.append(source)
    found, found_params = search_clause(filters.get("q"))
    return " AND ".join(where) + found, params + found_params


def conversations(
    db: Database, event_id: int, filters: Filters, limit: int = PAGE_SIZE, offset: int = 0
) -> list[Row]:
    """One page of conversations, newest first, each with its reference, where it was told,
    who told it, whether it counts, its void and its topics (a list)."""
    where, params = _where(event_id, filters)
    cur = db.execute(
        f"""SELECT v.uuid, {reference_sql("v")} AS reference, v.source, v.staff_name, v.story,
                   v.nps, v.topics, v.follow_up, v.counted, v.public, v.approval, v.highlight,
                   v.voided_at, v.voided_by, v.void_reason, v.rehearsal, v.received_at,
                   s.name AS station, l.name AS location, a.badge AS attendee_badge
              {_FROM} LEFT JOIN attendees a ON a.id = v.attendee_id
             WHERE {where} ORDER BY v.id DESC LIMIT ? OFFSET ?""",
        [*params, limit, offset],
    )
    found = dbm.rows(cur)
    for row in found:
        row["topics"] = json.loads(row["topics"] or "[]")
    return found


def counts(db: Database, event_id: int, filters: Filters) -> dict[str, int]:
    """{"all", "staff", "attendee", "employee", "voided", "counted"} under the filters (the
    source tabs ignore the source filter, so each tab shows what choosing it would list)."""
    where, params = _where(event_id, filters, with_source=False)
    row = dbm.one(
        db.execute(
            f"""SELECT count(*) AS "all",
                       coalesce(sum(v.source = 'staff'), 0) AS staff,
                       coalesce(sum(v.source = 'attendee'), 0) AS attendee,
                       coalesce(sum(v.source = 'employee'), 0) AS employee
                  {_FROM} WHERE {where}""",
            params,
        )
    )
    where, params = _where(event_id, filters)
    shown = dbm.one(
        db.execute(
            f"""SELECT coalesce(sum(v.voided_at IS NOT NULL), 0) AS voided,
                       coalesce(sum(v.counted = 1 AND v.voided_at IS NULL), 0) AS counted,
                       count(*) AS listed
                  {_FROM} WHERE {where}""",
            params,
        )
    )
    assert row is not None and shown is not None
    return {k: int(v) for k, v in {**row, **shown}.items()}
