"""Attendees: anonymous people known by a token in a signed cookie, with a short badge code."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from . import db as dbm
from .security import new_badge, new_token, normalize_badge


class UnknownAttendee(LookupError):
    """No attendee has that token or badge."""


def by_token(db: Database, token: str | None, event_id: int | None = None) -> dict | None:
    """The attendee with this cookie token (of the event, when given), or None."""
    if not token:
        return None
    cur = db.execute("SELECT * FROM attendees WHERE token = ?", [token])
    row = cur.fetchone()
    if row is None:
        return None
    found = dict(zip([c[0] for c in cur.description], row, strict=True))
    return found if event_id is None or found["event_id"] == event_id else None


def by_id(db: Database, attendee_id: int) -> dict:
    cur = db.execute("SELECT * FROM attendees WHERE id = ?", [attendee_id])
    return dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))


def by_badge(db: Database, event_id: int, badge: str) -> dict:
    """The attendee whose badge staff typed or scanned (case, spaces and dashes forgiven)."""
    cur = db.execute(
        "SELECT * FROM attendees WHERE badge = ? AND event_id = ?",
        [normalize_badge(badge), event_id],
    )
    row = cur.fetchone()
    if row is None:
        raise UnknownAttendee(badge)
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def create(db: Database, event_id: int, token: str | None = None) -> dict:
    """A new anonymous attendee with a fresh token and a unique badge code."""
    token = token or new_token()
    for _ in range(10):
        try:
            with dbm.write(db):
                cur = db.execute(
                    "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)"
                    " RETURNING *",
                    [event_id, token, new_badge(), dbm.utcnow()],
                )
                row = cur.fetchone()
                cur.fetchall()  # stepped to the end: a RETURNING statement is done only then
            return dict(zip([c[0] for c in cur.description], row, strict=True))
        except sqlite3.IntegrityError as exc:
            if "attendees.badge" not in str(exc):
                raise
    raise RuntimeError("no free badge code after 10 tries")
