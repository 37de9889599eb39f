"""Follow-ups: the conversations where someone owes the customer an answer, and their status
moving forward (open -> acknowledged -> done), oldest first, against an SLA."""

from __future__ import annotations

from sqlite_utils import Database

from . import audit
from . import db as dbm
from .capture_time import happened_at
from .conversations import (
    ConversationError,
    as_record,
    existing,
    reference,
    row_by_uuid,
    rows_where,
)
from .db import Row
from .shapes import Conversation

STATUSES = ("open", "acknowledged", "done")


class InvalidTransition(ConversationError, ValueError):
    """Follow-ups only move forward: open -> acknowledged -> done."""


def set_status(
    db: Database,
    event_id: int,
    uuid: str,
    status: str,
    now: str | None = None,
    actor: str = audit.COMMAND_LINE,
) -> Conversation:
    """Move a follow-up forward (open -> acknowledged -> done); the same status again is a no-op.
    Audited."""
    if status not in STATUSES:
        raise InvalidTransition(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    with dbm.write(db):
        row = existing(db, uuid, event_id)
        if not row["follow_up"]:
            raise InvalidTransition("this conversation has no follow-up")
        old = STATUSES.index(row["status"])
        new = STATUSES.index(status)
        if new < old:
            raise InvalidTransition(
                f"a follow-up that is {row['status']} cannot go back to {status}"
            )
        if new != old:
            db.execute(
                "UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?",
                [status, now or dbm.utcnow(), row["id"]],
            )
            audit.record(
                db,
                event_id,
                actor,
                "follow_up.status",
                reference(row["id"]),
                {"status": row["status"]},
                {"status": status},
            )
        updated = row_by_uuid(db, str(uuid))
    assert updated is not None
    return as_record(updated)


def follow_ups(
    db: Database,
    event_id: int,
    status: str | None = None,
    location: str | None = None,
    owner: str | None = None,
    now: str | None = None,
    sla_hours: float | None = None,
) -> list[Row]:
    """Follow-ups owed, oldest first, each with its age in hours: what the organizer console shows.

    status None lists the outstanding ones (open and acknowledged); a status name lists only
    that status. location is a location slug; owner matches case-insensitively. With sla_hours
    each item says whether it is overdue.
    """
    where = ["c.follow_up = 1", "l.event_id = :event_id"]
    params: Row = {"event_id": event_id}
    if status is None:
        where.append("c.status IN ('open', 'acknowledged')")
    elif status in STATUSES:
        where.append("c.status = :status")
        params["status"] = status
    else:
        raise InvalidTransition(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    if location:
        where.append("l.slug = :location")
        params["location"] = location
    if owner:
        where.append("c.owner = :owner COLLATE NOCASE")
        params["owner"] = owner.strip()
    rows = rows_where(
        db,
        "WHERE " + " AND ".join(where) + " ORDER BY min(c.captured_at, c.received_at), c.id",
        params,
    )
    current = dbm.parse_iso(now or dbm.utcnow())
    result = []
    for row in rows:
        since = dbm.parse_iso(happened_at(row))
        age = max(0.0, (current - since).total_seconds() / 3600)
        item = {
            **as_record(row),
            "location_name": row["location_name"],
            "attendee_name": row["attendee_name"],
            "attendee_email": row["attendee_email"],
            "attendee_company": row["attendee_company"],
            "age_hours": round(age, 1),
        }
        if sla_hours is not None:
            item["overdue"] = age > sla_hours
        result.append(item)
    return result
