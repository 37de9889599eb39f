"""Employees' stories ("You Define TCE"): how an employee impacts customers, told for a location.

They are conversations with source 'employee': no station, the location instead, never counted
(counted = 0 and no station, so no total, NPS, report figure or board customer figure ever sees
them: the schema's CHECK constraints hold that). Like attendees' stories they wait for an
organizer's approval, and show on a screen only when their teller allowed it. They hold no
personal data: the page asks for none, and the wall returns none.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypedDict
from uuid import UUID

from sqlite_utils import Database

from ..contract.requests import without_controls
from ..contract.responses import EmployeeStory
from ..store import db as dbm
from .text import reference, short_story

STORY_MAX = 4000  # characters, as for every story


class EmployeeStoryError(ValueError):
    """Base of every refusal below; the message says what is wrong in words a person can act on."""


class UnknownLocation(EmployeeStoryError, LookupError):
    """The event has no open location with that slug."""


class BadStory(EmployeeStoryError):
    """The story is empty or longer than STORY_MAX characters."""


class IdConflict(EmployeeStoryError):
    """The client id is already used by another record (not an employee story of this location)."""


class Told(TypedDict):
    """What the teller sees after telling: the reference to quote, and whether it was new."""

    id: str
    reference: str
    created: bool
    public: bool


def _location(db: Database, event_id: int, slug: str) -> dict[str, Any]:
    row = dbm.one(
        db.execute(
            "SELECT id, slug, name, active FROM locations WHERE event_id = ? AND slug = ?",
            [event_id, slug],
        )
    )
    if row is None or not row["active"]:
        raise UnknownLocation(f"the event has no open location {slug!r}")
    return row


def clean_story(story: str) -> str:
    """The story as stored: stripped, 1 to STORY_MAX characters; BadStory otherwise."""
    story = without_controls(story or "").strip()
    if not story:
        raise BadStory("tell us your story: it is empty")
    if len(story) > STORY_MAX:
        raise BadStory(f"a story has at most {STORY_MAX} characters (this one has {len(story)})")
    return story


def record(
    db: Database,
    event_id: int,
    location_slug: str,
    client_id: str | UUID,
    story: str,
    public: bool,
    now: str | None = None,
) -> Told:
    """Store an employee's story for a location once, by the client-made id.

    The same id again (a double tap, a reload of the form's answer) returns the stored story's
    reference and changes nothing. It waits for approval ('pending') like an attendee's story,
    and shows on screens only if `public` (the teller's consent) and approved. UnknownLocation,
    BadStory, IdConflict (the id belongs to another record), ValueError (not a UUID).
    """
    uuid = str(UUID(str(client_id)))
    text = clean_story(story)
    at = now or dbm.utcnow()
    with dbm.write(db):
        place = _location(db, event_id, location_slug)
        found = dbm.one(
            db.execute(
                "SELECT id, source, location_id, public FROM conversations WHERE uuid = ?", [uuid]
            )
        )
        if found is not None:
            if found["source"] != "employee" or found["location_id"] != place["id"]:
                raise IdConflict(f"the id {uuid} already belongs to another record")
            return Told(
                id=uuid,
                reference=reference(found["id"]),
                created=False,
                public=bool(found["public"]),
            )
        try:
            row_id = insert(db, uuid, place["id"], text, public, at, at)
        except sqlite3.IntegrityError as exc:  # pragma: no cover - the write lock makes this rare
            raise IdConflict(f"the id {uuid} is already used") from exc
    return Told(id=uuid, reference=reference(row_id), created=True, public=public)


def insert(
    db: Database,
    uuid: str,
    location_id: int,
    story: str,
    public: bool,
    captured_at: str,
    received_at: str,
    rehearsal: bool = False,
) -> int:
    """The one way an employee's story is written (here, and on central for a node's): never
    counted, waiting for approval. Returns its row id; sqlite3.IntegrityError if the id is taken."""
    cur = db.execute(
        "INSERT INTO conversations (uuid, station_id, location_id, source, story, topics,"
        " public, approval, captured_at, received_at, counted, rehearsal)"
        " VALUES (?, NULL, ?, 'employee', ?, '[]', ?, 'pending', ?, ?, 0, ?)",
        [uuid, location_id, story, int(public), captured_at, received_at, int(rehearsal)],
    )
    return int(cur.lastrowid or 0)


def count(db: Database, event_id: int, location_slug: str | None = None) -> int:
    """How many employees' stories of the event (or one location) a public screen may count:
    approved and public, voided ones left out (what the wall shows). Read from their index."""
    where, params = "l.event_id = ?", list[Any]([event_id])
    if location_slug is not None:
        where += " AND l.slug = ?"
        params.append(location_slug)
    (n,) = db.execute(
        "SELECT count(*) FROM conversations c INDEXED BY conversations_employees"
        " JOIN locations l ON l.id = c.location_id"
        f" WHERE c.source = 'employee' AND c.voided_at IS NULL AND c.public = 1"
        f" AND c.approval = 'approved' AND {where}",
        params,
    ).fetchone()
    return int(n)


def wall(
    db: Database, event_id: int, location_slug: str | None = None, limit: int = 30
) -> list[EmployeeStory]:
    """Approved public employees' stories, newest first, at most `limit` (1-500), each shortened
    to STORY_CHARS as plain text, with no personal data: {story, location, location_slug, at}
    (`at` UTC ISO-8601). For /insights and the board's ?employees=1."""
    limit = max(1, min(int(limit), 500))
    where, params = "l.event_id = ?", list[Any]([event_id])
    if location_slug is not None:
        where += " AND l.slug = ?"
        params.append(location_slug)
    rows = dbm.rows(
        db.execute(
            "SELECT c.story, l.name AS location, l.slug AS location_slug, c.received_at AS at"
            " FROM conversations c INDEXED BY conversations_employees"
            " JOIN locations l ON l.id = c.location_id"
            " WHERE c.source = 'employee' AND c.public = 1 AND c.approval = 'approved'"
            f" AND c.voided_at IS NULL AND {where}"
            " ORDER BY c.received_at DESC, c.id DESC LIMIT ?",
            [*params, limit],
        )
    )
    return [
        EmployeeStory(
            story=short_story(row["story"]),
            location=row["location"],
            location_slug=row["location_slug"],
            at=row["at"],
        )
        for row in rows
    ]
