"""Staff sign-in with the station PIN, the lockout that makes guessing a PIN hopeless, and the
staff sessions that sign-out ends.

Five failures from one address within 15 minutes lock that address out of the station's sign-in
for 10 minutes: the address that guessed, not every device at the station (a stranger must not
be able to lock staff out). Many failures at one station from anywhere slow its sign-in down,
so spreading guesses over many addresses gains little. An organizer can unlock a station, and a
PIN reset unlocks it too.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta

from sqlite_utils import Database

from ..event.lookups import active_station
from ..security import check_secret
from ..store import audit
from ..store import db as dbm
from ..store.db import Row

MAX_FAILURES = 5  # per address and station, within WINDOW
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=10)
SLOW_AFTER = 20  # failures at one station within WINDOW, from any address
SLOW_SECONDS = 2.0  # then every attempt there waits this long before its PIN is checked


def sleep(seconds: float) -> None:
    """The slowed attempt's wait: a cooperative sleep under gevent (time.sleep is patched there,
    so it is looked up at each call), only this attempt waits. Tests replace this function."""
    time.sleep(seconds)


class SignInError(Exception):
    """Base of the sign-in refusals."""


class WrongPin(SignInError):
    """The PIN does not match; `remaining` attempts are left before this address is locked."""

    def __init__(self, remaining: int):
        if remaining:
            message = f"Wrong PIN. {remaining} more tries before sign-in is locked."
        else:
            minutes = int(LOCK.total_seconds() // 60)
            message = (
                f"Wrong PIN. Sign-in from this device is now locked for {minutes} minutes;"
                " an organizer can unlock it."
            )
        super().__init__(message)
        self.remaining = remaining


class LockedOut(SignInError):
    """Too many wrong PINs from this address recently; sign-in opens again at `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"too many wrong PINs; sign-in is locked until {dbm.iso(until)}")
        self.until = until


class SessionEnded(LookupError):
    """The staff session was signed out, or its station closed or its PIN reset."""


def station(db: Database, station_id: int, event_id: int | None = None) -> Row:
    """An active station (with its location) by id, or UnknownStation."""
    return active_station(db, "id", station_id, event_id)


def pin_tag(db: Database, station_id: int) -> str | None:
    """A short fingerprint of the station's current PIN hash, kept in the staff session.

    When the PIN is reset the tag changes, so sessions signed in with the old PIN end.
    """
    row = db.execute("SELECT pin_hash FROM stations WHERE id = ?", [station_id]).fetchone()
    return _tag(row[0]) if row else None


def _tag(pin_hash: str) -> str:
    return hashlib.sha256(pin_hash.encode()).hexdigest()[:16]


def locked_until(
    db: Database, station_id: int, source: str = "", now: datetime | None = None
) -> datetime | None:
    """When this address's lockout at the station ends, or None if it may sign in.

    Locked while its last MAX_FAILURES failures all fall within WINDOW and the newest is less
    than LOCK old.
    """
    now = now or dbm.parse_iso(dbm.utcnow())
    rows = db.execute(
        "SELECT failed_at FROM sign_in_failures WHERE station_id = ? AND source = ?"
        " AND failed_at > ? ORDER BY failed_at DESC LIMIT ?",
        [station_id, source, dbm.iso(now - WINDOW), MAX_FAILURES],
    ).fetchall()
    if len(rows) < MAX_FAILURES:
        return None
    until = dbm.parse_iso(rows[0][0]) + LOCK
    return until if until > now else None


def recent_failures(db: Database, station_id: int, now: datetime | None = None) -> int:
    """Failed sign-ins at the station within WINDOW, from every address."""
    now = now or dbm.parse_iso(dbm.utcnow())
    (failures,) = db.execute(
        "SELECT count(*) FROM sign_in_failures WHERE station_id = ? AND failed_at > ?",
        [station_id, dbm.iso(now - WINDOW)],
    ).fetchone()
    return int(failures)


def sign_in(
    db: Database, station_id: int, pin: str, source: str = "", now: datetime | None = None
) -> Row:
    """Check the PIN typed at `source` (the device's address) for a station; returns the station,
    with the `pin_tag` of the PIN it checked (a reset a moment later must still end this
    session), or raises LockedOut / WrongPin.

    Each attempt is first written down as a failure (under the write lock) and struck out only
    when the PIN matches, so parallel guesses cannot get past the limit while the slow hash runs
    outside the lock.
    """
    now = now or dbm.parse_iso(dbm.utcnow())
    found = station(db, station_id)
    with dbm.write(db):
        until = locked_until(db, station_id, source, now)
        if until is not None:
            raise LockedOut(until)
        slow = recent_failures(db, station_id, now) >= SLOW_AFTER
        pin_hash = db.execute("SELECT pin_hash FROM stations WHERE id = ?", [station_id]).fetchone()
        attempt = db.execute(
            "INSERT INTO sign_in_failures (station_id, source, failed_at) VALUES (?, ?, ?)",
            [station_id, source, dbm.iso(now)],
        ).lastrowid
    if slow:
        sleep(SLOW_SECONDS)
    if check_secret(pin_hash[0], pin or ""):
        with dbm.write(db):
            db.execute("DELETE FROM sign_in_failures WHERE id = ?", [attempt])
        return {**found, "pin_tag": _tag(pin_hash[0])}
    recent = db.execute(
        "SELECT count(*) FROM sign_in_failures WHERE station_id = ? AND source = ?"
        " AND failed_at > ?",
        [station_id, source, dbm.iso(now - WINDOW)],
    ).fetchone()[0]
    raise WrongPin(max(0, MAX_FAILURES - recent))


def locked_stations(db: Database, event_id: int, now: datetime | None = None) -> dict[int, int]:
    """{station id: addresses locked out now} for the organizer's setup page."""
    now = now or dbm.parse_iso(dbm.utcnow())
    rows = db.execute(
        "SELECT f.station_id, f.source, count(*), max(f.failed_at) FROM sign_in_failures f"
        " JOIN stations s ON s.id = f.station_id JOIN locations l ON l.id = s.location_id"
        " WHERE l.event_id = ? AND f.failed_at > ? GROUP BY f.station_id, f.source",
        [event_id, dbm.iso(now - WINDOW)],
    ).fetchall()
    locked: dict[int, int] = {}
    for station_id, _source, failures, newest in rows:
        if failures >= MAX_FAILURES and dbm.parse_iso(newest) + LOCK > now:
            locked[station_id] = locked.get(station_id, 0) + 1
    return locked


def unlock(db: Database, station_id: int, actor: str = audit.COMMAND_LINE) -> int:
    """Forget the station's failed sign-ins (every address may try again); audited."""
    with dbm.write(db):
        forgotten = db.execute(
            "DELETE FROM sign_in_failures WHERE station_id = ?", [station_id]
        ).rowcount
        event_id = db.execute(
            "SELECT l.event_id FROM stations s JOIN locations l ON l.id = s.location_id"
            " WHERE s.id = ?",
            [station_id],
        ).fetchone()
        audit.record(
            db,
            event_id[0] if event_id else None,
            actor,
            "station.unlock",
            f"station #{station_id}",
            None,
            {"failures_forgotten": forgotten},
        )
    return forgotten


# --- staff sessions ------------------------------------------------------------------------------


def start_session(db: Database, station_id: int, staff_name: str) -> str:
    """A new staff session after a good PIN; its id goes into the signed session cookie."""
    session_id = secrets.token_urlsafe(16)
    with dbm.write(db):
        db.execute(
            "INSERT INTO staff_sessions (id, station_id, staff_name, started_at)"
            " VALUES (?, ?, ?, ?)",
            [session_id, station_id, staff_name, dbm.utcnow()],
        )
    return session_id


def open_session(db: Database, session_id: str) -> Row | None:
    """A staff session that has not ended: {"station_id", "pin_tag"} (the tag of the station's
    PIN now, to compare with the one it signed in with), or None. One read per staff request."""
    found = dbm.one(
        db.execute(
            "SELECT x.station_id, s.pin_hash FROM staff_sessions x"
            " JOIN stations s ON s.id = x.station_id WHERE x.id = ? AND x.ended_at IS NULL",
            [session_id],
        )
    )
    if found is None:
        return None
    return {"station_id": found["station_id"], "pin_tag": _tag(found["pin_hash"])}


def end_session(db: Database, session_id: str, why: str = "signed out") -> None:
    """Sign-out: the session stops working everywhere, copies of its cookie included."""
    with dbm.write(db):
        db.execute(
            "UPDATE staff_sessions SET ended_at = ?, ended_why = ? WHERE id = ? AND ended_at IS NULL",
            [dbm.utcnow(), why, session_id],
        )
