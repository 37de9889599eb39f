"""Which stories may show on public screens: the teller decides whether, an organizer approves.

A story shows only when its teller marked it public and it is approved: staff-logged stories
are approved as they are logged (unless the event moderates all), attendees' wait in the queue.
No action here can make a story public: that is the teller's word alone.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlite_utils import Database

from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .text import reference, reference_sql

Show = Literal["waiting", "on-screens", "rejected", "private", "voided", "all"]
Decision = Literal["approve", "reject"]
PAGE_SIZE = 50

_FILTERS: dict[str, str] = {
    "waiting": " AND v.public = 1 AND v.approval = 'pending' AND v.voided_at IS NULL",
    "on-screens": " AND v.public = 1 AND v.approval = 'approved' AND v.voided_at IS NULL",
    "rejected": " AND v.approval = 'rejected'",
    "private": " AND v.public = 0",
    "voided": " AND v.voided_at IS NOT NULL",
    "all": "",
}


SEARCH_MAX = 100  # characters of a search: longer is cut, so one query stays cheap


class UnknownConversation(LookupError):
    """No story of this event has that id."""


def like(text: str) -> str:
    """A LIKE pattern (ESCAPE '\\') finding `text` anywhere, its own % and _ taken literally;
    at most SEARCH_MAX characters of it."""
    return dbm.like_anywhere(text.strip()[:SEARCH_MAX])


def search_clause(q: str | None) -> tuple[str, list[str]]:
    """(SQL to add, its parameters) for a search in story, station, location and staff name."""
    if not q or not q.strip():
        return "", []
    fields = ("v.story", "s.name", "l.name", "v.staff_name")
    return (
        " AND (" + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in fields) + ")",
        [like(q)] * len(fields),
    )


def _on_screens(row: Row) -> bool:
    return bool(row["public"]) and row["approval"] == "approved" and row["voided_at"] is None


def stories(
    db: Database,
    event_id: int,
    show: Show = "all",
    limit: int = PAGE_SIZE,
    offset: int = 0,
    q: str | None = None,
) -> list[Row]:
    """Stories newest first, with whether each is on screens now; `show` filters (waiting is
    the moderation queue: public and not yet approved or rejected); `q` searches story,
    station, location and staff name (case-insensitive for ASCII, wildcards literal)."""
    found, found_params = search_clause(q)
    cur = db.execute(
        f"""SELECT v.uuid, {reference_sql("v")} AS reference, v.story, v.nps, v.source,
                   v.staff_name, v.follow_up, v.public, v.approval, v.counted, v.voided_at,
                   v.voided_by, v.void_reason, v.rehearsal, v.received_at, v.highlight,
                   s.name AS station, l.name AS location, a.badge AS attendee_badge
              FROM conversations v LEFT JOIN stations s ON s.id = v.station_id
              JOIN locations l ON l.id = coalesce(s.location_id, v.location_id)
              LEFT JOIN attendees a ON a.id = v.attendee_id
             WHERE l.event_id = ?{_FILTERS[show]}{found} ORDER BY v.id DESC LIMIT ? OFFSET ?""",
        [event_id, *found_params, limit, offset],
    )
    rows = dbm.rows(cur)
    for row in rows:
        row["on_screens"] = _on_screens(row)
    return rows


def count(db: Database, event_id: int, show: Show = "all", q: str | None = None) -> int:
    """How many stories `stories` would list over all its pages."""
    found, found_params = search_clause(q)
    (n,) = db.execute(
        # employees' stories have no station: their location is their own (location_id)
        "SELECT count(*) FROM conversations v LEFT JOIN stations s ON s.id = v.station_id"
        " JOIN locations l ON l.id = coalesce(s.location_id, v.location_id)"
        f" WHERE l.event_id = ?{_FILTERS[show]}{found}",
        [event_id, *found_params],
    ).fetchone()
    return int(n)


def counts(db: Database, event_id: int, q: str | None = None) -> dict[str, int]:
    """{show: how many} for every state of `Show`, under the same search: the filter's tabs."""
    return {show: count(db, event_id, show, q) for show in get_args(Show)}


def decide(db: Database, event_id: int, uuid: str, decision: Decision, actor: str) -> Row:
    """Approve or reject a story for public screens; boards follow within a second.

    Approving a story its teller kept private records the approval but shows nothing: only the
    teller makes a story public. Returns {"approval", "on_screens"}; audited.
    """
    approval = {"approve": "approved", "reject": "rejected"}[decision]
    with dbm.write(db):
        row = dbm.one(
            db.execute(
                "SELECT v.id, v.public, v.approval, v.voided_at FROM conversations v"
                " LEFT JOIN stations s ON s.id = v.station_id"
                " JOIN locations l ON l.id = coalesce(s.location_id, v.location_id)"
                " WHERE v.uuid = ? AND l.event_id = ?",
                [uuid, event_id],
            )
        )
        if row is None:
            raise UnknownConversation(uuid)
        if row["approval"] != approval:
            db.execute("UPDATE conversations SET approval = ? WHERE id = ?", [approval, row["id"]])
            audit.record(
                db,
                event_id,
                actor,
                f"story.{decision}",
                reference(row["id"]),
                {"approval": row["approval"]},
                {"approval": approval},
            )
        row["approval"] = approval
    return {"approval": approval, "on_screens": _on_screens(row)}


def set_highlight(db: Database, event_id: int, uuid: str, on: bool, actor: str) -> bool:
    """Mark (or unmark) a story for the report to leadership; returns the mark now. Showing on
    screens is not touched. Audited when it changes; UnknownConversation for another event's."""
    with dbm.write(db):
        row = dbm.one(
            db.execute(
                "SELECT v.id, v.highlight FROM conversations v"
                " LEFT JOIN stations s ON s.id = v.station_id"
                " JOIN locations l ON l.id = coalesce(v.location_id, s.location_id)"
                " WHERE v.uuid = ? AND l.event_id = ?",
                [uuid, event_id],
            )
        )
        if row is None:
            raise UnknownConversation(uuid)
        if bool(row["highlight"]) != on:
            db.execute("UPDATE conversations SET highlight = ? WHERE id = ?", [int(on), row["id"]])
            audit.record(
                db,
                event_id,
                actor,
                "story.highlight" if on else "story.unhighlight",
                reference(row["id"]),
                {"highlight": bool(row["highlight"])},
                {"highlight": on},
            )
    return on
