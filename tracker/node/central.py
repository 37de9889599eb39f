"""On central: what a node pulls (its event, location, stations, settings, the cookie key, the
records of its location, the whole event's figures) and how the records it forwards are stored.

A node's records are applied in the order it sent them, in one transaction per batch, each
idempotent by its id: attendees by their token, check-ins by uuid with `counted` decided here
by central's own rule (the first per attendee and station; when both sides saw a "first" visit,
whichever arrived here second is a repeat), conversations by uuid with the newest revision
winning. So sending a batch again, or after a lost answer, changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from sqlite_utils import Database

from ..checkins import record as checkins
from ..figures import scoreboard
from ..people import attendees
from ..security import new_badge
from ..store import db as dbm
from ..store.db import Row
from ..stories import record as conversations
from .protocol import (
    CONVERSATION_FIELDS,
    EVENT_COLUMNS,
    LOCATION_COLUMNS,
    MAX_RECORDS,
    PULL_ROWS,
    STATION_COLUMNS,
)


class BadRecords(ValueError):
    """A batch that is not a list of records this endpoint knows."""


def setup_for(
    db: Database, node: Row, cookie_key: str, checkins_after: int, conversations_after: int
) -> Row:
    """Everything a node needs to serve its location, and central's records of the location
    after the node's cursors (its own forwarded ones come back too: central's `counted` is the
    one that holds)."""
    location_id = node["location_id"]
    event = _one(
        db, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE id = ?", node["event_id"]
    )
    location = _one(
        db, f"SELECT {', '.join(LOCATION_COLUMNS)} FROM locations WHERE id = ?", location_id
    )
    stations = dbm.rows(
        db.execute(
            f"SELECT {', '.join(STATION_COLUMNS)} FROM stations WHERE location_id = ? ORDER BY id",
            [location_id],
        )
    )
    approvals = db.execute(
        "SELECT c.uuid, c.approval, c.voided_at FROM conversations c"
        " JOIN stations s ON s.id = c.station_id WHERE s.location_id = ? AND c.public = 1",
        [location_id],
    ).fetchall()
    served = scoreboard.snapshot(db, {**event, "counts": json.loads(event["counts"]),
                                      "topics": json.loads(event["topics"])})  # fmt: skip
    return {
        "event": event,
        "location": location,
        "stations": stations,
        "cookie_key": cookie_key,
        "approvals": [list(a) for a in approvals],
        "checkins": dbm.rows(
            db.execute(
                "SELECT c.id, c.uuid, c.station_id, c.counted, c.scanned_at, c.received_at,"
                " c.voided_at, c.rehearsal, a.token, a.badge, a.created_at AS attendee_created_at"
                " FROM checkins c JOIN attendees a ON a.id = c.attendee_id"
                " JOIN stations s ON s.id = c.station_id"
                " WHERE s.location_id = ? AND c.id > ? ORDER BY c.id LIMIT ?",
                [location_id, checkins_after, PULL_ROWS],
            )
        ),
        "conversations": dbm.rows(
            db.execute(
                f"SELECT c.id, c.uuid, c.station_id, c.counted, c.approval, c.voided_at,"
                f" c.rehearsal, {', '.join('c.' + f for f in CONVERSATION_FIELDS)}, a.token,"
                " a.badge, a.created_at AS attendee_created_at FROM conversations c"
                " JOIN stations s ON s.id = c.station_id"
                " LEFT JOIN attendees a ON a.id = c.attendee_id"
                " WHERE s.location_id = ? AND c.id > ? ORDER BY c.id LIMIT ?",
                [location_id, conversations_after, PULL_ROWS],
            )
        ),
        "snapshot": served,
        "at": dbm.utcnow(),
    }


def _one(db: Database, sql: str, *params: object) -> Row:
    row = dbm.one(db.execute(sql, list(params)))
    assert row is not None
    return row


def apply_records(db: Database, node: Row, records: object) -> Row:
    """Store a node's batch in one transaction, in order: {"applied", "refused", "badges"}.

    `refused` lists the indexes of records that are not this node's to send (a station of
    another location, an id another record holds): they are never stored, and the node drops
    them. `badges` maps tokens to central's badge where it differs from the node's.
    """
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise BadRecords(f"records must be a list of at most {MAX_RECORDS}")
    station_ids = {
        r[0]
        for r in db.execute(
            "SELECT id FROM stations WHERE location_id = ?", [node["location_id"]]
        ).fetchall()
    }
    refused: list[int] = []
    badges: dict[str, str] = {}
    with dbm.write(db):
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise BadRecords(f"record {index} is not an object")
            try:
                ok = _apply(db, node["event_id"], station_ids, record, badges)
            except (KeyError, TypeError, ValueError, sqlite3.IntegrityError) as exc:
                raise BadRecords(f"record {index}: {exc!r}") from exc
            if not ok:
                refused.append(index)
    return {"applied": len(records) - len(refused), "refused": refused, "badges": badges}


def _apply(
    db: Database, event_id: int, station_ids: set[int], record: Row, badges: dict[str, str]
) -> bool:
    kind = record["kind"]
    if kind == "attendee":
        attendee = _attendee(db, event_id, record, badges)
        if attendee is None:
            return False
        db.execute(
            "UPDATE attendees SET name = coalesce(?, name), email = coalesce(?, email),"
            " company = coalesce(?, company), consent = max(consent, ?) WHERE id = ?",
            [record.get("name"), record.get("email"), record.get("company"),
             int(record.get("consent") or 0), attendee["id"]],
        )  # fmt: skip
        return True
    if int(record["station_id"]) not in station_ids:
        return False
    if kind == "checkin":
        return _checkin(db, event_id, record, badges)
    if kind == "conversation":
        return _conversation(db, event_id, record, badges)
    raise ValueError(f"unknown kind {kind!r}")


def _attendee(db: Database, event_id: int, record: Row, badges: dict[str, str]) -> Row | None:
    """The attendee with the record's token, made with the node's badge if central has not met
    them (another badge if that one is taken); None if the token is another event's."""
    token = str(record["token"])
    found = dbm.one(db.execute("SELECT * FROM attendees WHERE token = ?", [token]))
    if found is None:
        for badge in (str(record["badge"]), attendees.badge_for(token), None):
            try:
                found = dbm.one(
                    db.execute(
                        "INSERT INTO attendees (event_id, token, badge, created_at, rehearsal)"
                        " VALUES (?, ?, coalesce(?, ?), ?, ?) RETURNING *",
                        [event_id, token, badge, new_badge(), record["created_at"],
                         int(record.get("rehearsal") or 0)],
                    )
                )  # fmt: skip
                break
            except sqlite3.IntegrityError as exc:
                if "attendees.badge" not in str(exc):
                    raise
    if found is None or found["event_id"] != event_id:
        return None
    if found["badge"] != record["badge"]:
        badges[token] = found["badge"]
    return found


def _with_attendee(record: Row) -> Row | None:
    attendee = record.get("attendee")
    return cast(Row, attendee) if isinstance(attendee, dict) else None


def _checkin(db: Database, event_id: int, record: Row, badges: dict[str, str]) -> bool:
    who = _with_attendee(record)
    owner = _attendee(db, event_id, who, badges) if who else None
    if owner is None:
        return False
    stored = db.execute(
        "SELECT station_id, attendee_id FROM checkins WHERE uuid = ?", [record["uuid"]]
    ).fetchone()
    if stored is not None:  # sent again: the same record is fine, another one's id is not
        return bool(stored == (record["station_id"], owner["id"]))
    checkins.insert(
        db,
        str(record["uuid"]),
        int(record["station_id"]),
        owner,
        str(record["scanned_at"]),
        str(record["received_at"]),
        bool(record.get("rehearsal")),
    )
    return True


def _conversation(db: Database, event_id: int, record: Row, badges: dict[str, str]) -> bool:
    who = _with_attendee(record)
    attendee = _attendee(db, event_id, who, badges) if who else None
    if who is not None and attendee is None:
        return False
    values: dict[str, Any] = {f: record.get(f) for f in CONVERSATION_FIELDS}
    values.update(
        uuid=str(record["uuid"]),
        station_id=int(record["station_id"]),
        attendee_id=attendee["id"] if attendee else None,
        rehearsal=int(record.get("rehearsal") or 0),
        revision=int(record.get("revision") or 1),
    )
    if values["source"] not in ("staff", "attendee"):
        raise ValueError("source must be staff or attendee")
    stored = dbm.one(
        db.execute(
            "SELECT station_id, source, revision, story, public, approval FROM conversations"
            " WHERE uuid = ?",
            [values["uuid"]],
        )
    )
    event = _one(db, "SELECT moderation FROM events WHERE id = ?", event_id)
    if stored is None:
        values["approval"] = conversations.first_approval(event, values["source"])
        values["device_at"] = values.pop("device_captured_at")
        conversations.insert(db, values)
        return True
    if stored["station_id"] != values["station_id"] or stored["source"] != values["source"]:
        return False
    if values["revision"] <= stored["revision"]:
        return True  # a version central holds already, or an older one: nothing changes
    approval = conversations.approval_after_edit(event, stored, values["story"], values["public"])
    db.execute(
        "UPDATE conversations SET attendee_id = :attendee_id, story = :story, nps = :nps,"
        " topics = :topics, follow_up = :follow_up, contact = :contact, owner = :owner,"
        " public = :public, status = coalesce(status, :status), approval = :approval,"
        " updated_at = :updated_at, revision = :revision WHERE uuid = :uuid",
        {**values, "approval": approval},
    )
    return True
