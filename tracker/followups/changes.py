"""The changes to a follow-up (a conversation where someone owes the customer an answer): its
owner, its notes and its status, each with its history.

Each follow-up has an owner (anyone may take it, or be given it), notes, and a status that only
moves forward (open -> acknowledged -> done). Every change is one row of `follow_up_events`
(who, when, what) and one audit row, written in the transaction of the change. The queue lists
the overdue ones first (still open past the event's SLA, in hours), then the oldest, fifty a
page, narrowed by status, owner, location, overdue and a bounded text search.
"""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from ..contract.requests import without_controls
from ..contract.responses import Conversation
from ..contract.sentences import N_, Sentence
from ..people.profile import is_email
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from ..stories.record import as_record, existing, row_by_uuid
from ..stories.text import reference
from .queue import SELECT, histories
from .rules import MAX_OWNER, STATUS_NAMES, STATUSES, InvalidFollowUp, InvalidTransition

__all__ = [
    "STATUSES",
    "InvalidFollowUp",
    "InvalidTransition",
    "add_note",
    "assign",
    "history",
    "set_status",
]

MAX_NOTE = 2000  # characters of a note
REPEAT_WINDOW = timedelta(minutes=10)  # the same note again within it is the same note


def history(db: Database, event_id: int, uuid: str) -> list[Row]:
    """One follow-up's history, oldest first; NotFound for another event's or no conversation."""
    row = existing(db, uuid, event_id)
    return histories(db, [row["id"]]).get(row["id"], [])


def _follow_up(db: Database, event_id: int, uuid: str) -> Row:
    """The conversation (with `id` its row id) if it owes a follow-up, else InvalidTransition."""
    row = dbm.one(
        db.execute(
            "SELECT c.id, c.uuid, c.follow_up, c.status, c.owner FROM conversations c"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " WHERE c.uuid = ? AND l.event_id = ?",
            [str(uuid), event_id],
        )
    )
    if row is None:
        existing(db, uuid, event_id)  # raises NotFound
        raise InvalidTransition(N_("this conversation has no follow-up"))  # pragma: no cover
    if not row["follow_up"]:
        raise InvalidTransition(N_("this conversation has no follow-up"))
    return row


def _event(db: Database, conversation_id: int, at: str, actor: str, kind: str, text: str) -> None:
    db.execute(
        "INSERT INTO follow_up_events (conversation_id, at, actor, kind, text)"
        " VALUES (?, ?, ?, ?, ?)",
        [conversation_id, at, actor, kind, text],
    )


def _as_record(db: Database, uuid: str) -> Conversation:
    updated = row_by_uuid(db, str(uuid))
    if updated is None:  # an employee's story: no station for the staff-shaped record
        row = dbm.one(db.execute(f"{SELECT} WHERE c.uuid = :uuid", {"uuid": uuid, "cutoff": ""}))
        assert row is not None
        return as_record(row)
    return as_record(updated)


def set_status(
    db: Database,
    event_id: int,
    uuid: str,
    status: str,
    now: str | None = None,
    actor: str = audit.COMMAND_LINE,
) -> Conversation:
    """Move a follow-up forward (open -> acknowledged -> done); the same status again is a no-op.
    Written to its history (who, when) and audited; InvalidTransition going back or for a
    conversation without a follow-up, NotFound for an unknown one."""
    if status not in STATUSES:
        raise InvalidTransition(
            N_("status is one of %(statuses)s, not %(status)s"),
            statuses=", ".join(STATUSES),
            status=repr(status),
        )
    with dbm.write(db):
        row = _follow_up(db, event_id, uuid)
        old = STATUSES.index(row["status"])
        new = STATUSES.index(status)
        if new < old:
            raise InvalidTransition(
                N_("a follow-up that is %(status)s cannot go back to %(new)s"),
                status=Sentence(STATUS_NAMES[row["status"]]),
                new=Sentence(STATUS_NAMES[status]),
            )
        if new != old:
            at = now or dbm.utcnow()
            db.execute(
                "UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?",
                [status, at, row["id"]],
            )
            _event(db, row["id"], at, actor, "status", status)
            audit.record(
                db,
                event_id,
                actor,
                "follow_up.status",
                reference(row["id"]),
                {"status": row["status"]},
                {"status": status},
            )
        return _as_record(db, uuid)


def assign(
    db: Database,
    event_id: int,
    uuid: str,
    owner: str,
    actor: str = audit.COMMAND_LINE,
    now: str | None = None,
) -> Conversation:
    """Give a follow-up to `owner` (a name or an e-mail address; "" leaves it to nobody).
    Written to its history and audited; an owner who is an e-mail address is queued an alert
    (in this transaction). The same owner again changes nothing. InvalidFollowUp for a name too
    long or with line breaks."""
    owner = " ".join(without_controls(owner).split())
    if len(owner) > MAX_OWNER:
        raise InvalidFollowUp(N_("an owner has at most %(max)s characters"), max=MAX_OWNER)
    with dbm.write(db):
        row = _follow_up(db, event_id, uuid)
        if (row["owner"] or "") != owner:
            at = now or dbm.utcnow()
            db.execute(
                "UPDATE conversations SET owner = ?, updated_at = ? WHERE id = ?",
                [owner or None, at, row["id"]],
            )
            _event(db, row["id"], at, actor, "owner", owner)
            if is_email(owner):  # the new owner hears of it (alerts.py sends it), once per change
                db.execute(
                    "INSERT INTO alert_queue (conversation_id, kind, recipient, at)"
                    " VALUES (?, 'assigned', ?, ?)",
                    [row["id"], owner, at],
                )
            audit.record(
                db,
                event_id,
                actor,
                "follow_up.owner",
                reference(row["id"]),
                {"owner": row["owner"]},
                {"owner": owner or None},
            )
        return _as_record(db, uuid)


def add_note(
    db: Database,
    event_id: int,
    uuid: str,
    text: str,
    actor: str = audit.COMMAND_LINE,
    now: str | None = None,
) -> Row:
    """Add a note to a follow-up's history (kept, never edited); returns it as
    {"at", "actor", "kind", "text"}. Audited. InvalidFollowUp for an empty or too long note."""
    text = without_controls(text).strip()
    if not text:
        raise InvalidFollowUp(N_("write the note first"))
    if len(text) > MAX_NOTE:
        raise InvalidFollowUp(N_("a note has at most %(max)s characters"), max=MAX_NOTE)
    with dbm.write(db):
        row = _follow_up(db, event_id, uuid)
        at = now or dbm.utcnow()
        # Back, then Send again (or a double tap): the same words by the same person a moment
        # ago are that note, stored once.
        same = db.execute(
            "SELECT at FROM follow_up_events WHERE conversation_id = ? AND kind = 'note'"
            " AND actor = ? AND text = ? AND at >= ? ORDER BY id DESC LIMIT 1",
            [row["id"], actor, text, dbm.iso(dbm.parse_iso(at) - REPEAT_WINDOW)],
        ).fetchone()
        if same is not None:
            return {"at": same[0], "actor": actor, "kind": "note", "text": text}
        _event(db, row["id"], at, actor, "note", text)
        audit.record(db, event_id, actor, "follow_up.note", reference(row["id"]), None, text)
    return {"at": at, "actor": actor, "kind": "note", "text": text}
