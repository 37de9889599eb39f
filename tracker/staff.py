"""Staff sign-in with the station PIN, and the lockout that makes guessing a PIN hopeless.

Five failures within 15 minutes lock that station's sign-in for 10 minutes, whatever the IP:
a whole venue shares one address, and an attacker can change theirs.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlite_utils import Database

from . import db as dbm
from .events import active_station
from .security import check_secret

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=10)


class SignInError(Exception):
    """Base of the sign-in refusals."""


class WrongPin(SignInError):
    """The PIN does not match; `remaining` attempts are left before the lockout."""

    def __init__(self, remaining: int):
        if remaining:
            message = f"Wrong PIN. {remaining} more tries before sign-in is locked."
        else:
            minutes = int(LOCK.total_seconds() // 60)
            message = f"Wrong PIN. Sign-in for this station is now locked for {minutes} minutes."
        super().__init__(message)
        self.remaining = remaining


class LockedOut(SignInError):
    """Too many wrong PINs for this station recently; sign-in opens again at `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"too many wrong PINs; sign-in is locked until {dbm.iso(until)}")
        self.until = until


def station(db: Database, station_id: int, event_id: int | None = None) -> dict:
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


def locked_until(db: Database, station_id: int, now: datetime | None = None) -> datetime | None:
    """When the lockout ends, or None if sign-in is open.

    Locked while the last MAX_FAILURES failures all fall within WINDOW and the newest is less
    than LOCK old.
    """
    now = now or dbm.parse_iso(dbm.utcnow())
    rows = db.execute(
        "SELECT failed_at FROM sign_in_failures WHERE station_id = ? AND failed_at > ?"
        " ORDER BY failed_at DESC LIMIT ?",
        [station_id, dbm.iso(now - WINDOW), MAX_FAILURES],
    ).fetchall()
    if len(rows) < MAX_FAILURES:
        return None
    until = dbm.parse_iso(rows[0][0]) + LOCK
    return until if until > now else None


def sign_in(db: Database, station_id: int, pin: str, now: datetime | None = None) -> dict:
    """Check the PIN for a station; returns the station, with the `pin_tag` of the PIN it
    checked (a reset a moment later must still end this session), or raises LockedOut / WrongPin.

    Each attempt is first written down as a failure (under the write lock) and struck out only
    when the PIN matches, so parallel guesses cannot get past the limit while the slow hash runs
    outside the lock.
    """
    now = now or dbm.parse_iso(dbm.utcnow())
    found = station(db, station_id)
    with dbm.write(db):
        until = locked_until(db, station_id, now)
        if until is not None:
            raise LockedOut(until)
        pin_hash = db.execute("SELECT pin_hash FROM stations WHERE id = ?", [station_id]).fetchone()
        attempt = db.execute(
            "INSERT INTO sign_in_failures (station_id, failed_at) VALUES (?, ?)",
            [station_id, dbm.iso(now)],
        ).lastrowid
    if check_secret(pin_hash[0], pin or ""):
        with dbm.write(db):
            db.execute("DELETE FROM sign_in_failures WHERE id = ?", [attempt])
        return {**found, "pin_tag": _tag(pin_hash[0])}
    recent = db.execute(
        "SELECT count(*) FROM sign_in_failures WHERE station_id = ? AND failed_at > ?",
        [station_id, dbm.iso(now - WINDOW)],
    ).fetchone()[0]
    raise WrongPin(max(0, MAX_FAILURES - recent))
