"""Void and restore: an organizer takes records out of every total without deleting them.

A voided check-in or conversation stays in the database and the exports (with when, who and
why) and leaves the totals, the NPS, the ticker and every board (the triggers in db.py keep the
totals; live.py notices the commit). Restore puts it back exactly: a held record (holds.py)
comes back held, still not counted until its network is trusted. Every change is audited in
the transaction that makes it.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Literal

from sqlite_utils import Database

from ..contract.sentences import N_, Refusal
from ..people import attendees
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from ..stories.text import reference

Table = Literal["checkins", "conversations"]
REASON_LENGTH = 300


class NotFound(LookupError):
    """No check-in or conversation of this event has that id."""


class NeedsReason(Refusal):
    """A void needs a reason (1 to 300 characters) so that others can tell why later."""


def checked_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not 1 <= len(reason) <= REASON_LENGTH:
        raise NeedsReason(N_("say why, in 1 to %(max)s characters"), max=REASON_LENGTH)
    return reason


_LOCATION = {"checkins": "s.location_id", "conversations": "coalesce(s.location_id, r.location_id)"}


def _row(db: Database, table: Table, event_id: int, uuid: str) -> Row:
    row = dbm.one(
        db.execute(
            f"SELECT r.id, r.uuid, r.counted, r.voided_at, r.voided_by, r.void_reason FROM {table} r"
            " LEFT JOIN stations s ON s.id = r.station_id"
            # an employee's story has no station: its location is its own
            f" JOIN locations l ON l.id = {_LOCATION[table]}"
            " WHERE r.uuid = ? AND l.event_id = ?",
            [str(uuid), event_id],
        )
    )
    if row is None:
        raise NotFound(f"no {table[:-1].replace('checkin', 'check-in')} has the id {uuid}")
    return row


def _subject(table: Table, row: Row) -> str:
    return reference(row["id"]) if table == "conversations" else f"check-in {row['uuid']}"


def void(db: Database, event_id: int, table: Table, uuid: str, actor: str, reason: str) -> bool:
    """Void one check-in or conversation by its id; False when it was voided already."""
    reason = checked_reason(reason)
    with dbm.write(db):
        row = _row(db, table, event_id, uuid)
        if row["voided_at"] is not None:
            return False
        db.execute(
            f"UPDATE {table} SET voided_at = ?, voided_by = ?, void_reason = ? WHERE id = ?",
            [dbm.utcnow(), actor, reason, row["id"]],
        )
        audit.record(
            db,
            event_id,
            actor,
            f"{table[:-1]}.void",
            _subject(table, row),
            None,
            {"reason": reason},
        )
    return True


def restore(db: Database, event_id: int, table: Table, uuid: str, actor: str) -> bool:
    """Undo a void; False when it was not voided."""
    with dbm.write(db):
        row = _row(db, table, event_id, uuid)
        if row["voided_at"] is None:
            return False
        db.execute(
            f"UPDATE {table} SET voided_at = NULL, voided_by = NULL, void_reason = NULL,"
            " void_batch = NULL WHERE id = ?",
            [row["id"]],
        )
        audit.record(
            db,
            event_id,
            actor,
            f"{table[:-1]}.restore",
            _subject(table, row),
            {"voided_at": row["voided_at"], "by": row["voided_by"], "reason": row["void_reason"]},
            None,
        )
    return True


# An attendee's records: their check-ins and the stories they told themselves. Conversations
# that staff logged with their badge are the staff's records and stay.
_OF_ATTENDEES = {
    # Check-ins are indexed by attendee in two partial indexes (first visits, repeats): one
    # search in each, or SQLite reads every check-in.
    "checkins": "id IN (SELECT id FROM checkins WHERE attendee_id IN ({ids}) AND counted = 1"
    " UNION ALL SELECT id FROM checkins WHERE attendee_id IN ({ids}) AND counted = 0)",
    "conversations": "source = 'attendee' AND attendee_id IN ({ids})",
}


def set_for_attendees(
    db: Database, ids_sql: str, params: list[Any], actor: str, reason: str | None
) -> dict[str, int]:
    """Void (reason given) or restore (None) the attendees `ids_sql` selects, as a whole.

    A void marks each attendee and every record of theirs not voided yet with one mark (when,
    who, why); what they record afterwards arrives voided with it (checkins.py, conversations.py).
    A restore brings back exactly the records carrying their attendee's mark, not voids made
    one by one before. Returns {"checkins": n, "conversations": m} changed.
    """
    changed = {}

    def args(where: str) -> list[Any]:
        return params * where.count("{ids}")

    if reason is None:
        for table, where in _OF_ATTENDEES.items():
            changed[table] = db.execute(
                f"UPDATE {table} SET voided_at = NULL, voided_by = NULL, void_reason = NULL,"
                f" void_batch = NULL WHERE {where.format(ids=ids_sql)} AND void_batch ="
                f" (SELECT a.void_batch FROM attendees a WHERE a.id = {table}.attendee_id)",
                args(where),
            ).rowcount
        db.execute(
            "UPDATE attendees SET voided_at = NULL, voided_by = NULL, void_reason = NULL,"
            f" void_batch = NULL WHERE id IN ({ids_sql})",
            params,
        )
        return changed
    mark = [dbm.utcnow(), actor, reason, uuidlib.uuid4().hex]
    db.execute(
        "UPDATE attendees SET voided_at = ?, voided_by = ?, void_reason = ?, void_batch = ?"
        f" WHERE voided_at IS NULL AND id IN ({ids_sql})",
        [*mark, *params],
    )
    for table, where in _OF_ATTENDEES.items():
        changed[table] = db.execute(
            f"UPDATE {table} SET (voided_at, voided_by, void_reason, void_batch) = (SELECT"
            f" a.voided_at, a.voided_by, a.void_reason, a.void_batch FROM attendees a"
            f" WHERE a.id = {table}.attendee_id)"
            f" WHERE voided_at IS NULL AND {where.format(ids=ids_sql)}",
            args(where),
        ).rowcount
    return changed


def void_attendee(
    db: Database, event_id: int, badge: str, actor: str, reason: str
) -> dict[str, int]:
    """Void every check-in and own story of one attendee (by badge), and whatever they record
    later, until restored; {"checkins": n, "conversations": m} newly voided.
    attendees.UnknownAttendee for an unknown badge."""
    reason = checked_reason(reason)
    who = attendees.by_badge(db, event_id, badge)
    with dbm.write(db):
        changed = set_for_attendees(db, "?", [who["id"]], actor, reason)
        audit.record(
            db,
            event_id,
            actor,
            "attendee.void",
            f"badge {who['badge']}",
            None,
            {**changed, "reason": reason},
        )
    return changed


def restore_attendee(db: Database, event_id: int, badge: str, actor: str) -> dict[str, int]:
    """Undo void_attendee: the records it voided count again (voids made one by one stay)."""
    who = attendees.by_badge(db, event_id, badge)
    with dbm.write(db):
        changed = set_for_attendees(db, "?", [who["id"]], actor, None)
        audit.record(
            db, event_id, actor, "attendee.restore", f"badge {who['badge']}", None, changed
        )
    return changed


def records_of(db: Database, event_id: int, badge: str) -> Row:
    """One attendee's check-ins and conversations, voided or not, for the organizer's page."""
    who = attendees.by_badge(db, event_id, badge)
    found_checkins = dbm.rows(
        db.execute(
            "SELECT c.uuid, c.counted, c.received_at, c.voided_at, c.voided_by, c.void_reason,"
            " c.rehearsal, c.held_from, s.name AS station, l.name AS location FROM checkins c"
            " JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
            " WHERE (c.attendee_id = :a AND c.counted = 1) OR (c.attendee_id = :a AND c.counted = 0)"
            " ORDER BY c.id",
            {"a": who["id"]},
        )
    )
    found_stories = dbm.rows(
        db.execute(
            "SELECT v.id, v.uuid, v.source, v.staff_name, v.story, v.nps, v.counted,"
            " v.received_at, v.voided_at, v.voided_by, v.void_reason, v.held_from,"
            " s.name AS station,"
            " l.name AS location FROM conversations v JOIN stations s ON s.id = v.station_id"
            " JOIN locations l ON l.id = s.location_id WHERE v.attendee_id = ? ORDER BY v.id",
            [who["id"]],
        )
    )
    for story in found_stories:
        story["reference"] = reference(story.pop("id"))
    return {"attendee": who, "checkins": found_checkins, "conversations": found_stories}


def void_from_node(
    db: Database,
    event_id: int,
    node_id: int,
    since: str,
    until: str,
    actor: str,
    reason: str,
) -> dict[str, int]:
    """Void every check-in and conversation that location node `node_id` sent, arriving on
    central between `since` and `until` (UTC ISO-8601), with one mark, in one audited action
    (a stolen node token, a node that ran a script): {"checkins": n, "conversations": m}."""
    reason = checked_reason(reason)
    mark = [dbm.utcnow(), actor, reason, uuidlib.uuid4().hex]
    changed = {}
    with dbm.write(db):
        for table, kind in (("checkins", "checkin"), ("conversations", "conversation")):
            changed[table] = db.execute(
                f"UPDATE {table} SET voided_at = ?, voided_by = ?, void_reason = ?, void_batch = ?"
                " WHERE voided_at IS NULL AND uuid IN (SELECT uuid FROM node_records"
                " WHERE node_id = ? AND kind = ? AND at BETWEEN ? AND ?)",
                [*mark, node_id, kind, since, until],
            ).rowcount
        audit.record(
            db,
            event_id,
            actor,
            "node.void",
            f"node #{node_id}",
            None,
            {**changed, "since": since, "until": until, "reason": reason},
        )
    return changed
