"""Check-ins: an attendee scanned a station's QR code. The first one per station counts, once."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any, cast

from sqlite_utils import Database

from ..contract.responses import (
    Checkin,
    CheckinOut,
    Passport,
    PassportStation,
    Progress,
    StationRef,
)
from ..event import lookups as events
from ..people import attendees
from ..store import db as dbm
from ..store import totals
from ..store.db import Row


class IdConflict(ValueError):
    """The client-made id was already used for a different check-in (other station or person)."""


@dataclass(frozen=True)
class CheckinResult:
    checkin: Checkin  # the stored record, as the API shows it
    created: bool  # False: this id had been stored before, nothing changed
    attendee: Row  # the attendee row, token included (the web layer sets the cookie)
    new_identity: bool  # the caller must be given (or given back) this attendee's cookie
    passport: Passport  # the attendee's passport, this check-in included
    progress: Progress  # the event's progress, this check-in included
    held: bool = False  # stored held (by the caller's decision or its attendee's): not counted


# Prepared statements of the hot path: one round of SQL each, no table introspection.
_BY_UUID = (
    "SELECT station_id, attendee_id, counted, scanned_at, received_at FROM checkins WHERE uuid = ?"
)
# The partial unique index checkins_counted_once backs this up: two racing first check-ins
# cannot both be counted, and BEGIN IMMEDIATE means they never race in the first place.
# A known id inserts nothing and returns no row; the caller then reads what was stored.
_INSERT = (
    "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at, received_at,"
    " rehearsal, voided_at, voided_by, void_reason, void_batch, held_from) VALUES (:uuid,"
    " :station_id, :attendee_id,"
    " NOT EXISTS (SELECT 1 FROM checkins"
    " WHERE attendee_id = :attendee_id AND station_id = :station_id AND counted = 1),"
    " :scanned_at, :received_at, :rehearsal, :voided_at, :voided_by, :void_reason, :void_batch,"
    " :held_from) ON CONFLICT (uuid) DO NOTHING RETURNING counted"
)
# A phone first seen past its address's allowance is held as a whole: what it records later
# arrives held with the same mark (trusting its network or voiding it settles them all).
_HOLD_ATTENDEE = "UPDATE attendees SET held_from = ? WHERE id = ?"


def check_in(
    db: Database,
    event: Row,
    code: str,
    token: str | None,
    checkin_id: str | uuidlib.UUID | None = None,
    client_ip: str | None = None,
    rehearsal: bool = False,
    held_from: str | None = None,
) -> CheckinResult:
    """Record that the attendee with `token` (a new one when None or unknown) scanned `code`.

    One write transaction, shared with concurrent check-ins (db.group_write); the passport and
    the progress are read in it too, so they include this check-in and cost no transaction of
    their own. The same `checkin_id` again returns the stored record and changes nothing; the
    same id for another station or another person raises IdConflict. An unknown or inactive
    station raises events.UnknownStation and stores nothing (no attendee either). `client_ip` is
    kept on a new attendee (bursts of new identities are flagged); `rehearsal` marks the rows as
    `flask simulate` traffic, which `rehearsal clear` removes. `held_from` (the address, or
    IPv6 /64, the caller decided past its allowance) stores the check-in held: answered as
    usual, counted nowhere until an organizer trusts that network; a new attendee made by a
    held check-in is held as a whole. The caller decides; nothing here looks at addresses.
    """
    checkin_id = str(uuidlib.UUID(str(checkin_id))) if checkin_id else str(uuidlib.uuid4())

    def store(db: Database) -> CheckinResult:
        # Read in the transaction: a station switched off a moment ago takes no more check-ins.
        station = events.station_by_code(db, code, event["id"])
        record, created, owner, new_identity = _store(
            db, event, station, token, checkin_id, client_ip, rehearsal, held_from
        )
        return CheckinResult(
            record,
            created,
            owner,
            new_identity,
            passport(db, owner),
            totals.event_progress(db, event),
            held=created and (held_from or owner.get("held_from")) is not None,
        )

    return dbm.group_write(db, store)


def _store(
    db: Database,
    event: Row,
    station: Row,
    token: str | None,
    checkin_id: str,
    client_ip: str | None,
    rehearsal: bool,
    held_from: str | None = None,
) -> tuple[Checkin, bool, Row, bool]:
    """The write itself: (record, created, attendee, new identity)."""
    owner = attendees.by_token(db, token, event["id"])
    new_identity = owner is None
    if owner is None and token and not attendees.token_known(db, token):
        # A cookie signed with the event's attendee key that this server has not met: the phone
        # checked in first at a location node (or at central, seen here from a node). It keeps
        # its identity, so both sides count it as one attendee once the node has forwarded.
        owner = attendees.create(db, event["id"], client_ip, rehearsal, token=token)
        new_identity = False
    if owner is None:
        # A new phone, or a retry of its first check-in whose answer was lost.
        row = db.execute(_BY_UUID, [checkin_id]).fetchone()
        if row is not None:
            return _repeat(db, station, None, checkin_id, row)
        owner = attendees.create(db, event["id"], client_ip, rehearsal)
        if held_from is not None:
            db.execute(_HOLD_ATTENDEE, [held_from, owner["id"]])
            owner = {**owner, "held_from": held_from}
    now = dbm.utcnow()
    counted = insert(db, checkin_id, station["id"], owner, now, now, rehearsal, held_from)
    if counted is None:
        row = db.execute(_BY_UUID, [checkin_id]).fetchone()
        return _repeat(db, station, owner, checkin_id, row)
    return _record(checkin_id, station, counted, now, now), True, owner, new_identity


def insert(
    db: Database,
    checkin_id: str,
    station_id: int,
    attendee: Row,
    scanned_at: str,
    received_at: str,
    rehearsal: bool,
    held_from: str | None = None,
) -> int | None:
    """The one way a check-in row is written, by the counting rule (the first per attendee and
    station counts): a phone's here, a node's forwarded one on central (node/central.py).
    `held_from` stores it held for that address; an attendee held as a whole passes on its own
    mark (a node's records are never held by address, only by whom). Returns `counted` (1 or
    0), or None when the id is stored already (nothing written)."""
    returned = db.execute(
        _INSERT,
        {
            "uuid": checkin_id,
            "station_id": station_id,
            "attendee_id": attendee["id"],
            "scanned_at": scanned_at,
            "received_at": received_at,
            "rehearsal": int(rehearsal),
            # an attendee voided as a whole: this check-in arrives voided, with the same mark
            "voided_at": attendee["voided_at"],
            "voided_by": attendee["voided_by"],
            "void_reason": attendee["void_reason"],
            "void_batch": attendee["void_batch"],
            "held_from": held_from or attendee.get("held_from"),
        },
    ).fetchall()  # stepped to the end: a RETURNING statement is done only then
    return int(returned[0][0]) if returned else None


def _repeat(
    db: Database,
    station: Row,
    attendee: Row | None,
    checkin_id: str,
    row: tuple[Any, ...],
) -> tuple[Checkin, bool, Row, bool]:
    """A known id again: the stored record, if it was this station and this person's."""
    station_id, attendee_id, counted, scanned_at, received_at = row
    if station_id != station["id"]:
        raise IdConflict(f"check-in {checkin_id} was made at another station")
    record = _record(checkin_id, station, counted, scanned_at, received_at)
    if attendee is not None:
        if attendee["id"] == attendee_id:
            return record, False, attendee, False
    else:
        # A phone's very first check-in whose answer (and so its cookie) was lost on the way:
        # the retry comes without a cookie. The id is a 122-bit secret only that phone made,
        # so when the identity holds nothing but this one check-in, hand the cookie back.
        owner = attendees.by_id(db, attendee_id)
        if owner["name"] is None and owner["email"] is None and _checkins_of(db, attendee_id) == 1:
            return record, False, owner, True
    raise IdConflict(f"check-in {checkin_id} belongs to someone else")


def _checkins_of(db: Database, attendee_id: int) -> int:
    (n,) = db.execute(  # one count per partial index: each row is in exactly one of them
        "SELECT (SELECT count(*) FROM checkins WHERE attendee_id = :a AND counted = 1)"
        " + (SELECT count(*) FROM checkins WHERE attendee_id = :a AND counted = 0)",
        {"a": attendee_id},
    ).fetchone()
    return int(n)


def _record(
    checkin_id: str, station: Row, counted: int, scanned_at: str, received_at: str
) -> Checkin:
    return Checkin(
        id=checkin_id,
        station=StationRef(
            slug=station["slug"],
            name=station["name"],
            location=station["location_name"],
            location_slug=station["location_slug"],
        ),
        counted=bool(counted),
        scanned_at=scanned_at,
        received_at=received_at,
    )


# The counted row is the first visit of each station; the repeats index counts the others.
_PASSPORT = """
    SELECT s.slug, s.name, l.name AS location, l.slug AS location_slug, c.received_at AS first_at,
           1 + (SELECT count(*) FROM checkins r WHERE r.attendee_id = c.attendee_id
                   AND r.station_id = c.station_id AND r.counted = 0) AS visits
      FROM checkins c
      JOIN stations s ON s.id = c.station_id
      JOIN locations l ON l.id = s.location_id
     WHERE c.attendee_id = ? AND c.counted = 1
     ORDER BY c.id
"""


def passport(db: Database, attendee: Row) -> Passport:
    """What the attendee's phone shows: their badge code and the stations they have visited."""
    stations = cast(list[PassportStation], dbm.rows(db.execute(_PASSPORT, [attendee["id"]])))
    (stories,) = db.execute(
        "SELECT count(*) FROM conversations WHERE attendee_id = ? AND source = 'attendee'",
        [attendee["id"]],
    ).fetchone()
    return Passport(
        badge=attendee["badge"],
        name=attendee["name"],
        visited=len(stations),
        stations=stations,
        stories=stories,
    )


def count(db: Database) -> int:
    """How many check-ins are stored (tests and the benchmark check nothing was lost)."""
    return int(db.execute("SELECT count(*) FROM checkins").fetchone()[0])


def summary(result: CheckinResult) -> CheckinOut:
    """The answer to a check-in: the record, whether it counted, the passport, the progress."""
    return CheckinOut(
        checkin=result.checkin,
        counted=result.checkin["counted"],
        passport=result.passport,
        progress=result.progress,
    )
