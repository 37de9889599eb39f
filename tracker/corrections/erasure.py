"""Erasing one attendee's personal data on request, while the day's counts stay true."""

from __future__ import annotations

from sqlite_utils import Database

from ..people.attendees import UnknownAttendee, by_badge
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from ..stories.text import reference


def erase_attendee(db: Database, event_id: int, badge: str, actor: str = audit.COMMAND_LINE) -> Row:
    """Remove name, email, company, address and follow-up contacts; keep check-ins, stories and
    totals. Audited (by badge, never with the erased details)."""
    attendee = by_badge(db, event_id, badge)
    with dbm.write(db):
        db.execute(
            "UPDATE attendees SET name = NULL, email = NULL, company = NULL, consent = 0,"
            " created_ip = NULL, erased_at = ? WHERE id = ?",
            [dbm.utcnow(), attendee["id"]],
        )
        contacts = db.execute(
            "UPDATE conversations SET contact = NULL WHERE attendee_id = ? AND contact IS NOT NULL",
            [attendee["id"]],
        ).rowcount
        # Notes on their follow-ups may quote them, and alerts not yet sent may carry their
        # contact: the notes' words go (who wrote one and when stay), the alerts are dropped.
        db.execute(
            "UPDATE follow_up_events SET text = '(erased)' WHERE kind = 'note' AND conversation_id"
            " IN (SELECT id FROM conversations WHERE attendee_id = ?)",
            [attendee["id"]],
        )
        for (conversation_id,) in db.execute(
            "SELECT id FROM conversations WHERE attendee_id = ?", [attendee["id"]]
        ).fetchall():
            db.execute(  # an alert's subject ends with the conversation's reference
                "DELETE FROM notifications WHERE sent_at IS NULL AND subject LIKE ?",
                [f"%: {reference(conversation_id)}"],
            )
        audit.record(
            db,
            event_id,
            actor,
            "attendee.erase",
            f"badge {attendee['badge']}",
            None,
            {"contacts_erased": contacts},
        )
    return {"badge": attendee["badge"], "contacts_erased": contacts}


__all__ = ["erase_attendee", "UnknownAttendee"]
