"""Which stories may show on public screens: the teller decides whether, an organizer approves.

A story shows only when its teller marked it public and it is approved: staff-logged stories
are approved as they are logged (unless the event moderates all), attendees' wait in the queue.
No action here can make a story public: that is the teller's word alone.
"""

from __future__ import annotations

from typing import Literal

from sqlite_utils import Database

from . import audit
from . import db as dbm
from .conversations import reference, reference_sql
from .db import Row

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


class UnknownConversation(LookupError):
    """No story of this event has that id."""


def _on_screens(row: Row) -> bool:
    return bool(row["public"]) and row["approval"] == "approved" and row["voided_at"] is None


def stories(
    db: Database, event_id: int, show: Show = "all", limit: int = PAGE_SIZE, offset: int = 0
) -> list[Row]:
    """Stories newest first, with whether each is on screens now; `show` filters (waiting is
    the moderation queue: public and not yet approved or rejected)."""
    cur = db.execute(
        f"""SELECT v.uuid, {reference_sql("v")} AS reference, v.story, v.nps, v.source,
                   v.staff_name, v.follow_up, v.public, v.approval, v.counted, v.voided_at,
                   v.voided_by, v.void_reason, v.rehearsal, v.received_at,
                   s.name AS station, l.name AS location, a.badge AS attendee_badge
              FROM conversations v JOIN stations s ON s.id = v.station_id
              JOIN locations l ON l.id = s.location_id
              LEFT JOIN attendees a ON a.id = v.attendee_id
             WHERE l.event_id = ?{_FILTERS[show]} ORDER BY v.id DESC LIMIT ? OFFSET ?""",
        [event_id, limit, offset],
    )
    rows = dbm.rows(cur)
    for row in rows:
        row["on_screens"] = _on_screens(row)
    return rows


def count(db: Database, event_id: int, show: Show = "all") -> int:
    (n,) = db.execute(
        "SELECT count(*) FROM conversations v JOIN stations s ON s.id = v.station_id"
        f" JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?{_FILTERS[show]}",
        [event_id],
    ).fetchone()
    return int(n)


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
                " JOIN stations s ON s.id = v.station_id JOIN locations l ON l.id = s.location_id"
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
