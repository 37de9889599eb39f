"""Organizer accounts, one per person, so that every change on the day has a name on it.

Accounts are made with `flask --app tracker admin create --name NAME` or from /admin/organizers.
The ADMIN_PASSWORD variable stays as a bootstrap: it signs in as BOOTSTRAP_NAME.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from datetime import timedelta

from sqlite_utils import Database

from ..contract.sentences import N_, Refusal
from ..security import check_secret, hash_secret
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .staff import DEVICE, Backoff

MIN_LENGTH = 10
NAME_LENGTH = 60
BOOTSTRAP_NAME = "admin"  # the name that goes with the ADMIN_PASSWORD variable
# Names the audit trail gives to others: no organizer may take one.
RESERVED_NAMES = frozenset({audit.COMMAND_LINE, "unknown"})


# Wrong passwords slow the device that sends them (the same waits as a wrong PIN's: 5 free a
# day, then 1, 2, 4, 8 and at most 15 minutes) and the name they are sent for: past 20 within a
# day, a device where that organizer has not signed in before waits 1, 2, 4, 8, then 15 minutes
# after the name's latest wrong password (one try per wait for all such devices together: 26 in
# the first hour, then 4 an hour, about 118 a day, against a password of 10 characters or more).
# A device where that organizer signed in before is never held back by others' guesses. The
# counts live in the rate-limit store (tracker/web/ratelimit.py); no address is ever blocked by them.
DEVICE_WAITS = DEVICE
NAME_WAITS = Backoff(20, timedelta(minutes=1), timedelta(minutes=15), timedelta(days=1))


def name_tag(name: str) -> str:
    """A short fingerprint of an organizer's name as typed (spaces and case do not matter): what
    the rate limits count wrong passwords under and a device's cookie remembers, not the name."""
    folded = " ".join((name or "").split()).casefold()
    return hashlib.sha256(folded.encode()).hexdigest()[:16]


class WeakPassword(Refusal):
    """Refused: too short to guard the follow-up list and everyone's contact details."""


class BadName(Refusal):
    """An organizer's name is 1 to 60 printable characters."""


class NameTaken(Refusal):
    """Another organizer already has that name (names are compared without case)."""


def _check(name: str, password: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_LENGTH or not name.isprintable():
        raise BadName(N_("a name has 1 to %(max)s printable characters"), max=NAME_LENGTH)
    if name.casefold() in RESERVED_NAMES or name.casefold().startswith(("staff ", "attendee #")):
        raise BadName(
            N_("%(name)s is how the audit trail names others; choose another name"),
            name=repr(name),
        )
    if len(password) < MIN_LENGTH:
        raise WeakPassword(N_("use at least %(min)s characters"), min=MIN_LENGTH)
    return name


def create(db: Database, name: str, password: str, actor: str = audit.COMMAND_LINE) -> Row:
    """Add an organizer (name, password stored hashed); NameTaken when the name is in use."""
    name = _check(name, password)
    hashed = hash_secret(password)  # slow: computed before the write lock is taken
    with dbm.write(db):
        try:
            row = dbm.one(
                db.execute(
                    "INSERT INTO organizers (name, password_hash, created_at, created_by)"
                    " VALUES (?, ?, ?, ?) RETURNING id, name, created_at, created_by",
                    [name, hashed, dbm.utcnow(), actor],
                )
            )
        except sqlite3.IntegrityError:
            raise NameTaken(
                N_("an organizer named %(name)s already exists"), name=repr(name)
            ) from None
        audit.record(db, None, actor, "organizer.create", name)
    assert row is not None
    return row


def set_password(db: Database, name: str, password: str, actor: str = audit.COMMAND_LINE) -> bool:
    """Create the organizer, or change their password; True when the account is new.

    A new password ends that organizer's sessions everywhere (their session epoch moves on).
    """
    name = _check(name, password)
    hashed = hash_secret(password)
    with dbm.write(db):
        changed = db.execute(
            "UPDATE organizers SET password_hash = ?, session_epoch = session_epoch + 1"
            " WHERE name = ?",
            [hashed, name],
        ).rowcount
        if changed:
            audit.record(db, None, actor, "organizer.password", name)
            return False
    create(db, name, password, actor)
    return True


def all_organizers(db: Database) -> list[Row]:
    return dbm.rows(
        db.execute("SELECT id, name, created_at, created_by FROM organizers ORDER BY name")
    )


def names(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM organizers ORDER BY name")]


def has_password(db: Database, env_password: str | None) -> bool:
    """Whether anyone can sign in as an organizer at all (there is never a default password)."""
    return (
        bool(env_password) or db.execute("SELECT 1 FROM organizers LIMIT 1").fetchone() is not None
    )


def check_password(db: Database, name: str, password: str, env_password: str | None) -> Row | None:
    """The organizer {"id", "name", "epoch"} whose name and password these are, else None.

    BOOTSTRAP_NAME with the ADMIN_PASSWORD variable signs in too (id None). Never an empty or
    default password.
    """
    name = " ".join((name or "").split())
    if not password or not name:
        return None
    row = db.execute(
        "SELECT id, name, password_hash, session_epoch FROM organizers WHERE name = ?", [name]
    ).fetchone()
    if row is not None and check_secret(row[2], password):
        return {"id": row[0], "name": row[1], "epoch": row[3]}
    if (
        env_password
        and name.casefold() == BOOTSTRAP_NAME
        and hmac.compare_digest(password.encode(), env_password.encode())
    ):
        return {"id": None, "name": BOOTSTRAP_NAME, "epoch": bootstrap_epoch(db, env_password)}
    return None


def bootstrap_epoch(db: Database, env_password: str | None) -> str | None:
    """The session epoch of the ADMIN_PASSWORD sign-in: a count that sign-out moves on (kept in
    settings) and a fingerprint of the password, so a new password ends those sessions too.
    None while the variable is not set."""
    if not env_password:
        return None
    row = db.execute("SELECT value FROM settings WHERE key = 'bootstrap_epoch'").fetchone()
    tag = hashlib.sha256(env_password.encode()).hexdigest()[:16]
    return f"{int(row[0]) if row else 0}:{tag}"


def epoch(db: Database, organizer_id: int) -> int | None:
    """The organizer's current session epoch (None: the account is gone)."""
    row = db.execute("SELECT session_epoch FROM organizers WHERE id = ?", [organizer_id]).fetchone()
    return row[0] if row else None


def end_sessions(db: Database, organizer_id: int | None) -> None:
    """Sign the organizer out everywhere: every session of theirs carries the old epoch.
    None is the ADMIN_PASSWORD sign-in."""
    with dbm.write(db):
        if organizer_id is None:
            db.execute(
                "INSERT INTO settings (key, value) VALUES ('bootstrap_epoch', 1)"
                " ON CONFLICT (key) DO UPDATE SET value = value + 1"
            )
        else:
            db.execute(
                "UPDATE organizers SET session_epoch = session_epoch + 1 WHERE id = ?",
                [organizer_id],
            )
