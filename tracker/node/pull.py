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
from .protocol import (
    CENTRAL_FIELDS,
    CONVERSATION_FIELDS,
    DEVICE_FIELDS,
    EVENT_COLUMNS,
    LOCATION_COLUMNS,
    STATION_COLUMNS,
)

POSITION = "node_changes_after"


def set_node_mode(db: Database, on: bool) -> None:
    """Mark this database as a node's (its writes are queued for central) or not."""
    settings.put(db, "node_mode", "1" if on else "0")


def position(db: Database) -> int:
    """Where this node is in central's change feed: the changes after it are still to apply."""
    return int(settings.get(db, POSITION) or 0)


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
        event_id = setup["event"]["id"]
        for change in setup["changes"]:
            _apply_change(db, event_id, change)
        settings.put(db, POSITION, max(position(db), int(setup["changes_through"])))
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


def _pending(db: Database, kind: str, key: str) -> bool:
    """Whether this node holds a version of the record central has not acknowledged yet: its
    device-owned fields are newer here, and stay."""
    found = db.execute("SELECT 1 FROM outbox WHERE kind = ? AND uuid = ? LIMIT 1", [kind, key])
    return found.fetchone() is not None


def _apply_change(db: Database, event_id: int, change: Row) -> None:
    """One change of central's feed: the record's current state, or None once deleted (a
    rehearsal clear). Central-owned fields always follow central; device-owned ones only when
    nothing of the record waits here to be forwarded (protocol.py says which are which)."""
    kind, key, row = change["kind"], change["key"], change["row"]
    table, column = {"checkin": ("checkins", "uuid"), "conversation": ("conversations", "uuid"),
                     "attendee": ("attendees", "token")}[kind]  # fmt: skip
    if row is None:
        if not _pending(db, kind, key):
            with contextlib.suppress(sqlite3.IntegrityError):  # an attendee still referenced
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", [key])
        return
    if kind == "checkin":
        _checkin(db, event_id, row)
    elif kind == "conversation":
        _conversation(db, event_id, row, _pending(db, kind, key))
    else:
        _attendee(db, event_id, row, _pending(db, kind, key))


def _attendee(db: Database, event_id: int, row: Row, pending: bool) -> None:
    found = db.execute("SELECT id FROM attendees WHERE token = ?", [row["token"]]).fetchone()
    if found is None:
        with contextlib.suppress(sqlite3.IntegrityError):  # a local attendee holds the badge
            db.execute(
                "INSERT INTO attendees (event_id, token, badge, created_at, name, email, company,"
                " consent, erased_at, voided_at, rehearsal) VALUES (:event_id, :token, :badge,"
                " :created_at, :name, :email, :company, :consent, :erased_at, :voided_at,"
                " :rehearsal)",
                {**row, "event_id": event_id},
            )
        return
    db.execute(
        "UPDATE attendees SET erased_at = :erased_at, voided_at = :voided_at WHERE id = :id"
        " AND (erased_at IS NOT :erased_at OR voided_at IS NOT :voided_at)",
        {**row, "id": found[0]},
    )
    if not pending:
        db.execute(
            "UPDATE attendees SET name = :name, email = :email, company = :company,"
            " consent = :consent WHERE id = :id AND (name IS NOT :name OR email IS NOT :email"
            " OR company IS NOT :company OR consent IS NOT :consent)",
            {**row, "id": found[0]},
        )


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
        " voided_at, held_from, rehearsal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (uuid) DO UPDATE SET counted = excluded.counted,"
        " voided_at = excluded.voided_at, held_from = excluded.held_from"
        " WHERE counted IS NOT excluded.counted OR voided_at IS NOT excluded.voided_at"
        " OR held_from IS NOT excluded.held_from",
        [row["uuid"], row["station_id"], attendee_id, row["counted"], row["scanned_at"],
         row["received_at"], row["voided_at"], row.get("held_from"), row["rehearsal"]],
    )  # fmt: skip


def _conversation(db: Database, event_id: int, row: Row, pending: bool) -> None:
    attendee_id = _attendee_id(db, event_id, row)
    if row["counted"] and row["source"] == "attendee":
        db.execute(
            "UPDATE conversations SET counted = 0 WHERE attendee_id = ? AND station_id = ?"
            " AND source = 'attendee' AND counted = 1 AND uuid != ?",
            [attendee_id, row["station_id"], row["uuid"]],
        )
    values: dict[str, Any] = {f: row[f] for f in CONVERSATION_FIELDS}
    values.update(
        uuid=row["uuid"], station_id=row["station_id"], location_id=row["location_id"],
        attendee_id=attendee_id, counted=row["counted"], approval=row["approval"],
        voided_at=row["voided_at"], held_from=row.get("held_from"), rehearsal=row["rehearsal"],
    )  # fmt: skip
    columns = ["uuid", "station_id", "location_id", "attendee_id", "counted", "approval",
               "voided_at", "held_from", "rehearsal", *CONVERSATION_FIELDS]  # fmt: skip
    central = ", ".join(f"{c} = excluded.{c}" for c in CENTRAL_FIELDS)
    device = ", ".join(f"{c} = excluded.{c}" for c in (*DEVICE_FIELDS, "revision", "updated_at"))
    follows = (*CENTRAL_FIELDS, *(() if pending else (*DEVICE_FIELDS, "revision")))
    db.execute(
        f"INSERT INTO conversations ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)}) ON CONFLICT (uuid) DO UPDATE"
        f" SET {central}{'' if pending else ', ' + device}"
        f" WHERE {' OR '.join(f'{c} IS NOT excluded.{c}' for c in follows)}",
        values,
    )


def adopt_attendee(db: Database, event_id: int, row: Row) -> None:
    """Store an attendee central told of ({token, badge, created_at}), as a pull would (not
    queued back to central)."""
    with dbm.write(db):
        set_node_mode(db, False)
        _attendee_id(db, event_id, {**row, "attendee_created_at": row["created_at"]})
        set_node_mode(db, True)


def note_pulled(db: Database, at: Any) -> None:
    """When this node last heard from central (its /healthz says how long ago)."""
    with dbm.write(db):
        settings.put(db, "node_pulled_at", dbm.iso(at))
