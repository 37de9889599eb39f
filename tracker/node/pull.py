"""On a node: storing what central sent (GET /api/node/setup): the event, the location and its
stations (central's ids, codes, PIN hashes), settings, approvals, the records of the location
that central holds (its own `counted` wins), and the whole event's figures with their time.

What is stored here is central's, so the outbox triggers must not send it back: the work runs
with `node_mode` off inside its own transaction, which no other connection sees.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any

from sqlite_utils import Database

from ..store import db as dbm
from ..store import settings
from ..store.db import Row
from .protocol import CONVERSATION_FIELDS, EVENT_COLUMNS, LOCATION_COLUMNS, STATION_COLUMNS


def set_node_mode(db: Database, on: bool) -> None:
    """Mark this database as a node's (its writes are queued for central) or not."""
    settings.put(db, "node_mode", "1" if on else "0")


def cursors(db: Database) -> tuple[int, int]:
    """How far this node has read central's check-ins and conversations of its location."""
    return (
        int(settings.get(db, "node_checkins_after") or 0),
        int(settings.get(db, "node_conversations_after") or 0),
    )


def apply_setup(db: Database, setup: Row) -> None:
    """Store one pull in one transaction."""
    with dbm.write(db):
        set_node_mode(db, False)
        _upsert(db, "events", EVENT_COLUMNS, setup["event"])
        _upsert(db, "locations", LOCATION_COLUMNS, setup["location"])
        for station in setup["stations"]:
            _upsert(db, "stations", STATION_COLUMNS, station)
        settings.put(db, "current_event", setup["event"]["slug"])
        settings.put(db, "node_cookie_key", setup["cookie_key"])
        for uuid, approval, voided_at in setup["approvals"]:
            db.execute(
                "UPDATE conversations SET approval = ?, voided_at = ? WHERE uuid = ?"
                " AND (approval IS NOT ? OR voided_at IS NOT ?)",
                [approval, voided_at, uuid, approval, voided_at],
            )
        checkins_after, conversations_after = cursors(db)
        for row in setup["checkins"]:
            _checkin(db, setup["event"]["id"], row)
            checkins_after = max(checkins_after, int(row["id"]))
        for row in setup["conversations"]:
            _conversation(db, setup["event"]["id"], row)
            conversations_after = max(conversations_after, int(row["id"]))
        settings.put(db, "node_checkins_after", str(checkins_after))
        settings.put(db, "node_conversations_after", str(conversations_after))
        settings.put(
            db, "node_snapshot", json.dumps({"snapshot": setup["snapshot"], "at": setup["at"]})
        )
        set_node_mode(db, True)


def _upsert(db: Database, table: str, columns: tuple[str, ...], row: Row) -> None:
    """Insert central's row by its id, or change what differs (setup caches follow the
    version the triggers bump, so an unchanged row is not written)."""
    values = [row[c] for c in columns]
    changes = " OR ".join(f"{c} IS NOT excluded.{c}" for c in columns[1:])
    db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns[1:])}"
        f" WHERE {changes}",
        values,
    )


def _attendee_id(db: Database, event_id: int, row: Row) -> int | None:
    """The local attendee with central's token (made, with central's badge, if missing)."""
    if row.get("token") is None:
        return None
    found = db.execute("SELECT id, badge FROM attendees WHERE token = ?", [row["token"]]).fetchone()
    if found is not None:
        if found[1] != row["badge"]:
            with contextlib.suppress(sqlite3.IntegrityError):
                db.execute("UPDATE attendees SET badge = ? WHERE id = ?", [row["badge"], found[0]])
        return int(found[0])
    made = db.execute(
        "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        [event_id, row["token"], row["badge"], row["attendee_created_at"]],
    ).fetchone()
    return int(made[0])


def _checkin(db: Database, event_id: int, row: Row) -> None:
    attendee_id = _attendee_id(db, event_id, row)
    if row["counted"]:  # central's first visit: any other local one is a repeat
        db.execute(
            "UPDATE checkins SET counted = 0 WHERE attendee_id = ? AND station_id = ?"
            " AND counted = 1 AND uuid != ?",
            [attendee_id, row["station_id"], row["uuid"]],
        )
    db.execute(
        "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at, received_at,"
        " voided_at, rehearsal) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE"
        " SET counted = excluded.counted, voided_at = excluded.voided_at"
        " WHERE counted IS NOT excluded.counted OR voided_at IS NOT excluded.voided_at",
        [row["uuid"], row["station_id"], attendee_id, row["counted"], row["scanned_at"],
         row["received_at"], row["voided_at"], row["rehearsal"]],
    )  # fmt: skip


def _conversation(db: Database, event_id: int, row: Row) -> None:
    attendee_id = _attendee_id(db, event_id, row)
    if row["counted"] and row["source"] == "attendee":
        db.execute(
            "UPDATE conversations SET counted = 0 WHERE attendee_id = ? AND station_id = ?"
            " AND source = 'attendee' AND counted = 1 AND uuid != ?",
            [attendee_id, row["station_id"], row["uuid"]],
        )
    values: dict[str, Any] = {f: row[f] for f in CONVERSATION_FIELDS}
    values.update(
        uuid=row["uuid"], station_id=row["station_id"], attendee_id=attendee_id,
        counted=row["counted"], approval=row["approval"], voided_at=row["voided_at"],
        rehearsal=row["rehearsal"],
    )  # fmt: skip
    columns = ["uuid", "station_id", "attendee_id", "counted", "approval", "voided_at",
               "rehearsal", *CONVERSATION_FIELDS]  # fmt: skip
    db.execute(
        f"INSERT INTO conversations ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)}) ON CONFLICT (uuid) DO UPDATE"
        " SET counted = excluded.counted, approval = excluded.approval,"
        " voided_at = excluded.voided_at WHERE counted IS NOT excluded.counted"
        " OR approval IS NOT excluded.approval OR voided_at IS NOT excluded.voided_at",
        values,
    )


def note_pulled(db: Database, at: Any) -> None:
    """When this node last heard from central (its /healthz says how long ago)."""
    with dbm.write(db):
        settings.put(db, "node_pulled_at", dbm.iso(at))
