"""Staff sign-in with the station PIN, the growing waits that make guessing a PIN hopeless, and
the staff sessions that sign-out ends.

A venue's guest wifi puts thousands of phones, the staff tablets and any prankster behind one
address, so wrong PINs never hold back an address. They slow down two things:

- the DEVICE that typed them (`source`: the device's own id, from a signed cookie of its own,
  tracker/web/identity.py): its first MAX_FAILURES wrong PINs within a day cost nothing, then
  each one makes its next try wait twice as long as the last (1, 2, 4, 8 minutes, then 15 at
  most), at every station;
- the STATION they target: past SLOW_AFTER wrong PINs there within a day, from any devices, a
  device that has not signed in there before waits 1, 2, 4, 8, then 15 minutes after the
  station's latest wrong PIN: one try per wait for all such devices together. A device that has
  (`known`) is never held back by other devices' guesses, only by its own.

Tries at one station for a guesser with any number of fresh devices on any number of addresses:
20 free, 6 more within the first 45 minutes (waits 1 + 2 + 4 + 8 + 15 + 15), then 4 an hour
(15-minute waits) while the guessing goes on: 26 in the first hour, about 118 in a day. Against
a 6-digit PIN (what tracker makes) that is 1 chance in about 8,500 a day; 8 digits, 1 in 850,000;
4 digits (the shortest an event file takes), about 1 in 85 a day, so give stations 6 or more.

A right PIN forgets that device's wrong PINs at that station. An organizer's unlock, or a PIN
reset, forgets the station's (every device may try again at once).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from ..event.lookups import active_station
from ..security import check_secret
from ..store import audit
from ..store import db as dbm
from ..store.db import Row


@dataclass(frozen=True)
class Backoff:
    """Growing waits after failures: the first `free` cost nothing, then each failure makes the
    next try wait `first`, doubled for every failure past the free ones, at most `cap`.
    Failures older than `memory` are forgotten. Organizers' sign-in uses the same shape
    (people/organizers.py, web/ratelimit.py)."""

    free: int
    first: timedelta
    cap: timedelta
    memory: timedelta

    def wait(self, failures: int) -> timedelta:
        """The wait after the latest of `failures` failures (zero while they are free)."""
        if failures < self.free:
            return timedelta(0)
        return min(self.first * (1 << min(failures - self.free, 32)), self.cap)


MAX_FAILURES = 5  # wrong PINs one device may type within a day before it waits
SLOW_AFTER = 20  # wrong PINs at one station within a day before new devices wait there
DEVICE = Backoff(MAX_FAILURES, timedelta(minutes=1), timedelta(minutes=15), timedelta(days=1))
STATION = Backoff(SLOW_AFTER, timedelta(minutes=1), timedelta(minutes=15), timedelta(days=1))


class SignInError(Exception):
    """Base of the sign-in refusals."""


class WrongPin(SignInError):
    """The PIN does not match. `remaining` wrong PINs are left before this device waits, and
    `wait` is how long it waits now (zero while it has tries left)."""

    def __init__(self, remaining: int, wait: timedelta = timedelta(0)):
        if remaining:
            message = f"Wrong PIN. {remaining} more tries before this device must wait."
        else:
            minutes = max(1, round(wait.total_seconds() / 60))
            message = (
                f"Wrong PIN. Sign-in from this device is now locked for {minutes} minutes;"
                " an organizer can unlock it."
            )
        super().__init__(message)
        self.remaining = remaining
        self.wait = wait


class LockedOut(SignInError):
    """Not now: sign-in from this device opens again at `until`. `station_wide` when it is the
    station's wait (for devices that never signed in there), not the device's own."""

    def __init__(self, until: datetime, station_wide: bool = False):
        whose = "at this station for new devices" if station_wide else "from this device"
        super().__init__(f"too many wrong PINs {whose}; sign-in is locked until {dbm.iso(until)}")
        self.until = until
        self.station_wide = station_wide


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


def _now() -> datetime:
    return dbm.parse_iso(dbm.utcnow())


def _failures(
    db: Database, where: str, args: list[object], since: datetime
) -> tuple[int, datetime | None]:
    """(wrong PINs, the latest one's time) among sign_in_failures matching `where`."""
    count, newest = db.execute(
        f"SELECT count(*), max(failed_at) FROM sign_in_failures WHERE {where} AND failed_at > ?",
        [*args, dbm.iso(since)],
    ).fetchone()
    return int(count), dbm.parse_iso(newest) if newest else None


def _until(backoff: Backoff, count: int, newest: datetime | None, now: datetime) -> datetime | None:
    if newest is None or count < backoff.free:
        return None
    until = newest + backoff.wait(count)
    return until if until > now else None


def held_back(
    db: Database,
    station_id: int,
    source: str = "",
    known: bool = False,
    now: datetime | None = None,
) -> LockedOut | None:
    """Why the device `source` may not try a PIN at the station now (LockedOut, not raised), or
    None. Its own wrong PINs (anywhere) first; then, unless it has signed in at this station
    before (`known`), the station's. A read only: sign_in asks again under the write lock."""
    now = now or _now()
    count, newest = _failures(db, "source = ?", [source], now - DEVICE.memory)
    until = _until(DEVICE, count, newest, now)
    if until is not None:
        return LockedOut(until)
    if known:
        return None
    count, newest = _failures(db, "station_id = ?", [station_id], now - STATION.memory)
    until = _until(STATION, count, newest, now)
    return LockedOut(until, station_wide=True) if until is not None else None


def locked_until(
    db: Database, station_id: int, source: str = "", now: datetime | None = None
) -> datetime | None:
    """When this device may try again at the station (as a device that never signed in there),
    or None if it may now."""
    refusal = held_back(db, station_id, source, False, now)
    return refusal.until if refusal else None


def sign_in(
    db: Database,
    station_id: int,
    pin: str,
    source: str = "",
    now: datetime | None = None,
    known: bool = False,
) -> Row:
    """Check the PIN typed on the device `source` (its id) for a station; returns the station,
    with the `pin_tag` of the PIN it checked (a reset a moment later must still end this
    session), or raises LockedOut / WrongPin. `known`: this device has signed in at this station
    before, so other devices' wrong PINs there do not hold it back.

    Each attempt is first written down as a failure (under the write lock) and struck out only
    when the PIN matches, so parallel guesses cannot get past the waits while the slow hash runs
    outside the lock: the next one already sees this one as the latest wrong PIN.
    """
    now = now or _now()
    found = station(db, station_id)
    with dbm.write(db):
        refusal = held_back(db, station_id, source, known, now)
        if refusal is not None:
            raise refusal
        pin_hash = db.execute("SELECT pin_hash FROM stations WHERE id = ?", [station_id]).fetchone()
        db.execute(
            "INSERT INTO sign_in_failures (station_id, source, failed_at) VALUES (?, ?, ?)",
            [station_id, source, dbm.iso(now)],
        )
    if check_secret(pin_hash[0], pin or ""):
        with dbm.write(db):  # this attempt and the device's earlier wrong PINs here
            db.execute(
                "DELETE FROM sign_in_failures WHERE station_id = ? AND source = ?",
                [station_id, source],
            )
        return {**found, "pin_tag": _tag(pin_hash[0])}
    count, _ = _failures(db, "source = ?", [source], now - DEVICE.memory)
    raise WrongPin(max(0, MAX_FAILURES - count), DEVICE.wait(count))


def locked_stations(db: Database, event_id: int, now: datetime | None = None) -> dict[int, int]:
    """{station id: devices held back there now} for the organizer's setup page: the devices
    waiting after their own wrong PINs, or, while the station makes new devices wait, every
    device whose wrong PINs are behind it."""
    now = now or _now()
    since = dbm.iso(now - max(DEVICE.memory, STATION.memory))
    rows = db.execute(
        "SELECT f.station_id, f.source FROM sign_in_failures f"
        " JOIN stations s ON s.id = f.station_id JOIN locations l ON l.id = s.location_id"
        " WHERE l.event_id = ? AND f.failed_at > ? GROUP BY f.station_id, f.source",
        [event_id, since],
    ).fetchall()
    waiting: dict[str, bool] = {}  # device -> waiting after its own wrong PINs
    slowed: dict[int, bool] = {}  # station -> making new devices wait
    held: dict[int, int] = {}
    for station_id, source in rows:
        if source not in waiting:
            mine = _failures(db, "source = ?", [source], now - DEVICE.memory)
            waiting[source] = _until(DEVICE, *mine, now) is not None
        if station_id not in slowed:
            theirs = _failures(db, "station_id = ?", [station_id], now - STATION.memory)
            slowed[station_id] = _until(STATION, *theirs, now) is not None
        if waiting[source] or slowed[station_id]:
            held[station_id] = held.get(station_id, 0) + 1
    return held


def unlock(db: Database, station_id: int, actor: str = audit.COMMAND_LINE) -> int:
    """Forget the station's wrong PINs (every device may try again at once); audited."""
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
