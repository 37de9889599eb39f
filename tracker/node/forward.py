"""On a node: the outbox of records still to forward to central, and the batches made from it.

Triggers (schema 5) queue a row for every attendee, check-in and conversation the node stores
or changes; a batch sends each queued record's current state, in the order they were queued
(an attendee before the check-ins that name them), and leaves the outbox only when central has
acknowledged it. Sending a batch again is harmless: central applies by id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlite_utils import Database

from ..store import db as dbm
from ..store.db import Row

BATCH = 200
MAX_BATCH_BYTES = 48_000

_ATTENDEE = "token, badge, created_at, rehearsal"
_SQL = {
    "attendee": f"SELECT {_ATTENDEE}, name, email, company, consent FROM attendees WHERE token = ?",
    "checkin": (
        "SELECT c.uuid, c.station_id, c.scanned_at, c.received_at, c.rehearsal,"
        " a.token, a.badge, a.created_at, a.rehearsal AS attendee_rehearsal"
        " FROM checkins c JOIN attendees a ON a.id = c.attendee_id WHERE c.uuid = ?"
    ),
    "conversation": (
        "SELECT c.uuid, c.station_id, c.source, c.staff_name, c.story, c.nps, c.topics,"
        " c.follow_up, c.contact, c.owner, c.status, c.public, c.captured_at, c.received_at,"
        " c.updated_at, c.revision, c.device_captured_at, c.rehearsal, a.token, a.badge,"
        " a.created_at, a.rehearsal AS attendee_rehearsal"
        " FROM conversations c LEFT JOIN attendees a ON a.id = c.attendee_id WHERE c.uuid = ?"
    ),
}


def backlog(db: Database, now: datetime | None = None) -> Row:
    """{"waiting": records queued, "oldest_seconds": the age of the oldest (0 when none)}."""
    waiting, oldest = db.execute("SELECT count(*), min(queued_at) FROM outbox").fetchone()
    if not oldest:
        return {"waiting": 0, "oldest_seconds": 0.0}
    age = ((now or datetime.now(UTC)) - dbm.parse_iso(oldest)).total_seconds()
    return {"waiting": int(waiting), "oldest_seconds": round(max(0.0, age), 1)}


def next_batch(db: Database, limit: int = BATCH) -> tuple[int, list[Row]]:
    """(the last outbox id it covers, the records): each queued record's current state, once,
    and no more than MAX_BATCH_BYTES of JSON (central takes bodies up to MAX_BODY_BYTES)."""
    queued = db.execute("SELECT id, kind, uuid FROM outbox ORDER BY id LIMIT ?", [limit]).fetchall()
    records: list[Row] = []
    seen: set[tuple[str, str]] = set()
    through, size = 0, 0
    for outbox_id, kind, key in queued:
        if (kind, key) not in seen:
            seen.add((kind, key))
            row = dbm.one(db.execute(_SQL[kind], [key]))
            if row is not None:  # gone since (a rehearsal cleared): nothing to send
                record = _record(kind, row)
                size += len(json.dumps(record)) + 2
                if records and size > MAX_BATCH_BYTES:
                    break
                records.append(record)
        through = outbox_id
    return through, records


def _record(kind: str, row: Row) -> Row:
    if kind == "attendee":
        return {"kind": kind, **row}
    attendee = None
    if row["token"] is not None:
        attendee = {
            "token": row.pop("token"),
            "badge": row.pop("badge"),
            "created_at": row.pop("created_at"),
            "rehearsal": row.pop("attendee_rehearsal"),
        }
    else:
        for key in ("token", "badge", "created_at", "attendee_rehearsal"):
            row.pop(key)
    return {"kind": kind, **row, "attendee": attendee}


def acknowledge(db: Database, through: int, badges: dict[str, str]) -> None:
    """Central holds everything queued up to `through`: take it out of the outbox, and give
    attendees central's badge where it had another one for them."""
    with dbm.write(db):
        db.execute("DELETE FROM outbox WHERE id <= ?", [through])
        for token, badge in badges.items():
            try:
                db.execute("UPDATE attendees SET badge = ? WHERE token = ?", [badge, token])
            except Exception:  # another local attendee holds it (rare): keep the node's
                continue
