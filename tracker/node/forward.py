"""On a node: the outbox of records still to forward to central, and the batches made from it.

Triggers (schema 5) queue a row for every attendee, check-in and conversation the node stores
or changes; a batch sends each queued record's current state, in the order they were queued
(an attendee before the check-ins that name them), and leaves the outbox only when central has
acknowledged it. Sending a batch again is harmless: central applies by id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid as uuidlib
from datetime import UTC, datetime

from sqlite_utils import Database

from ..store import db as dbm
from ..store import settings
from ..store.db import Row
from .protocol import shifted

log = logging.getLogger(__name__)

BATCH = 200
LIVE = 20  # newest records at the head of every batch
FORWARDED = "node_forwarded"
FILE_ID = "node_file_id"
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
        "SELECT c.uuid, c.station_id, c.location_id, c.source, c.staff_name, c.story, c.nps, c.topics,"
        " c.follow_up, c.contact, c.owner, c.status, c.public, c.captured_at, c.received_at,"
        " c.updated_at, c.revision, c.device_captured_at, c.rehearsal, c.language, a.token, a.badge,"
        " a.created_at, a.rehearsal AS attendee_rehearsal"
        " FROM conversations c LEFT JOIN attendees a ON a.id = c.attendee_id WHERE c.uuid = ?"
    ),
}


def backlog(db: Database, now: datetime | None = None) -> Row:
    """{"waiting": records queued, "oldest_seconds": the age of the oldest (0 when none),
    "parked": records central refused, waiting for an organizer}."""
    waiting, oldest = db.execute("SELECT count(*), min(queued_at) FROM outbox").fetchone()
    (held,) = db.execute("SELECT count(*) FROM parked").fetchone()
    if not oldest:
        return {"waiting": 0, "oldest_seconds": 0.0, "parked": int(held)}
    age = ((now or datetime.now(UTC)) - dbm.parse_iso(oldest)).total_seconds()
    return {"waiting": int(waiting), "oldest_seconds": round(max(0.0, age), 1), "parked": int(held)}


def next_batch(
    db: Database, limit: int = BATCH, offset_seconds: float = 0.0
) -> tuple[list[int], list[Row]]:
    """(the outbox ids it covers, the records): each queued record's current state, once, with
    its times moved by `offset_seconds` (the node's clock to central's), and no more than
    MAX_BATCH_BYTES of JSON (central takes bodies up to MAX_BODY_BYTES).

    The LIVE newest records go first, then the oldest: a check-in made now reaches central's
    boards in the next batch even while a long backlog drains. (Order between records does not
    matter: each carries its attendee, and a conversation's revision decides between versions.)"""
    newest = db.execute(
        "SELECT id, kind, uuid FROM outbox ORDER BY id DESC LIMIT ?", [LIVE]
    ).fetchall()
    oldest = db.execute("SELECT id, kind, uuid FROM outbox ORDER BY id LIMIT ?", [limit]).fetchall()
    queued = list(reversed(newest)) + [row for row in oldest if row not in newest]
    keys = {(kind, key) for _, kind, key in queued}
    records: list[Row] = []
    sent: dict[tuple[str, str], Row | None] = {}
    covered: list[int] = []
    size = 0
    for outbox_id, kind, key in queued:
        if (kind, key) not in sent:
            row = dbm.one(db.execute(_SQL[kind], [key]))
            record = None
            if row is not None:  # gone since (a rehearsal cleared): nothing to send
                record = shifted(_record(kind, row), offset_seconds)
                size += len(json.dumps(record)) + 2
                if records and size > MAX_BATCH_BYTES:
                    break
                records.append(record)
            sent[(kind, key)] = record
        covered.append(outbox_id)
    # Every queued row of a record that was sent is covered by it, in this batch or not.
    sent_keys = [k for k in keys if k in sent]
    if sent_keys:
        covered = sorted(
            set(covered)
            | {
                r[0]
                for k in sent_keys
                for r in db.execute(
                    "SELECT id FROM outbox WHERE kind = ? AND uuid = ?", list(k)
                ).fetchall()
            }
        )
    return covered, records


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


def acknowledge(db: Database, covered: list[int], records: list[Row], answer: Row) -> None:
    """Central answered the batch: take its outbox rows out, park each record central refused
    (with its reason, for an organizer to retry or discard), count what central acknowledged,
    and give attendees central's badge where it had another one for them."""
    results = answer.get("results") or []
    badges = answer.get("badges") or {}
    now = dbm.utcnow()
    with dbm.write(db):
        for start in range(0, len(covered), 500):
            part = covered[start : start + 500]
            db.execute(f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(part))})", part)
        for record, result in zip(records, results, strict=False):
            if result.get("status") == "refused":
                db.execute(
                    "INSERT INTO parked (kind, uuid, record, reason, detail, parked_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [record["kind"], record.get("uuid") or record.get("token"),
                     json.dumps(record), str(result.get("reason")), str(result.get("detail")),
                     now],
                )  # fmt: skip
                log.warning(
                    "node: central refused a %s (%s); parked", record["kind"], result.get("reason")
                )
        forwarded = int(settings.get(db, FORWARDED) or 0) + len(covered)
        settings.put(db, FORWARDED, forwarded)
        for token, badge in badges.items():
            try:
                db.execute("UPDATE attendees SET badge = ? WHERE token = ?", [badge, token])
            except sqlite3.IntegrityError:  # another local attendee holds it (rare): keep ours
                continue


def forwarded(db: Database) -> int:
    """How many outbox rows central has acknowledged to this file (central checks it never
    goes back: an older copy of the file would have lost records)."""
    return int(settings.get(db, FORWARDED) or 0)


def file_id(db: Database) -> str:
    """The random id this database file was born with (made on first use)."""
    found = settings.get(db, FILE_ID)
    if found is None:
        with dbm.write(db):
            found = settings.get(db, FILE_ID) or str(uuidlib.uuid4())
            settings.put(db, FILE_ID, found)
    return found


def parked(db: Database) -> list[Row]:
    """The records central refused, oldest first, with why."""
    return dbm.rows(
        db.execute("SELECT id, kind, uuid, reason, detail, parked_at FROM parked ORDER BY id")
    )


def retry(db: Database, parked_id: int | None = None) -> int:
    """Queue parked records again (one, or all when None): their current state is sent again.
    Returns how many."""
    where, params = ("WHERE id = ?", [parked_id]) if parked_id is not None else ("", [])
    with dbm.write(db):
        rows = db.execute(f"SELECT id, kind, uuid FROM parked {where}", params).fetchall()
        for row_id, kind, key in rows:
            db.execute(
                "INSERT INTO outbox (kind, uuid, queued_at) VALUES (?, ?, ?)",
                [kind, key, dbm.utcnow()],
            )
            db.execute("DELETE FROM parked WHERE id = ?", [row_id])
    return len(rows)


def discard(db: Database, parked_id: int) -> bool:
    """Give up on one parked record: central never gets it. Logged; False if there is none."""
    with dbm.write(db):
        gone = db.execute("DELETE FROM parked WHERE id = ? RETURNING kind, uuid", [parked_id])
        row = gone.fetchone()
    if row is not None:
        log.warning("node: parked %s %s discarded by an organizer", row[0], row[1])
    return row is not None
