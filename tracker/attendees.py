"""Attendees: anonymous people known by a token in a signed cookie, with a short badge code."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from . import db as dbm
from .db import Row
from .security import new_badge, new_token, normalize_badge


class UnknownAttendee(LookupError):
    """No attendee has that token or badge."""


def by_token(db: Database, token: str | None, event_id: int | None = None) -> Row | None:
    """The attendee with this cookie token (of the event, when given), or None."""
    if not token:
        return None
    if event_id is None:
        return dbm.one(db.execute("SELECT * FROM attendees WHERE token = ?", [token]))
    return dbm.one(
        db.execute("SELECT * FROM attendees WHERE token = ? AND event_id = ?", [token, event_id])
    )


def by_id(db: Database, attendee_id: int) -> Row:
    """The attendee with this row id, or UnknownAttendee."""
    found = dbm.one(db.execute("SELECT * FROM attendees WHERE id = ?", [attendee_id]))
    if found is None:
        raise UnknownAttendee(attendee_id)
    return found


def by_badge(db: Database, event_id: int, badge: str) -> Row:
    """The attendee whose badge staff typed or scanned (case, spaces and dashes forgiven)."""
    found = dbm.one(
        db.execute(
            "SELECT * FROM attendees WHERE badge = ? AND event_id = ?",
            [normalize_badge(badge), event_id],
        )
    )
    if found is None:
        raise UnknownAttendee(badge)
    return found


def create(
    db: Database, event_id: int, created_ip: str | None = None, rehearsal: bool = False
) -> Row:
    """A new anonymous attendee with a fresh token and a unique badge code.

    `created_ip` is the address the first check-in came from: bursts of new identities from
    one address are flagged to organizers (bursts.py).
    """
    token = new_token()
    for _ in range(10):
        try:
            with dbm.write(db):
                made = dbm.one(
                    db.execute(
                        "INSERT INTO attendees (event_id, token, badge, created_at, created_ip,"
                        " rehearsal) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                        [event_id, token, new_badge(), dbm.utcnow(), created_ip, int(rehearsal)],
                    )
                )
                assert made is not None  # RETURNING gives the row just inserted
                return made
        except sqlite3.IntegrityError as exc:
            if "attendees.badge" not in str(exc):
                raise
    raise RuntimeError("no free badge code after 10 tries")
