"""Attendees: anonymous people known by a token in a signed cookie, with a short badge code."""

from __future__ import annotations

import hashlib
import sqlite3

from sqlite_utils import Database

from ..security import BADGE_ALPHABET, new_badge, new_token, normalize_badge
from ..store import db as dbm
from ..store.db import Row


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


def badge_for(token: str) -> str:
    """The badge code a token gets first, the same on central and on every node (a phone known
    to one side and then seen by the other gets the same badge there); one-way, as the token is
    a secret. Another attendee already holding it (rare) means a random one instead."""
    digest = int.from_bytes(hashlib.sha256(b"badge:" + token.encode()).digest()[:8], "big")
    chars = []
    for _ in range(6):
        digest, index = divmod(digest, len(BADGE_ALPHABET))
        chars.append(BADGE_ALPHABET[index])
    return "".join(chars)


def token_known(db: Database, token: str) -> bool:
    """Whether any attendee (of any event) holds this token."""
    return db.execute("SELECT 1 FROM attendees WHERE token = ?", [token]).fetchone() is not None


def create(
    db: Database,
    event_id: int,
    created_ip: str | None = None,
    rehearsal: bool = False,
    token: str | None = None,
) -> Row:
    """A new anonymous attendee with a fresh token (or `token`: one a sibling server signed,
    adopted as it is, see checkins) and a unique badge code.

    `created_ip` is the address the first check-in came from: bursts of new identities from
    one address are flagged to organizers (bursts.py).
    """
    token = token or new_token()
    badges = [badge_for(token)]
    for _ in range(10):
        try:
            with dbm.write(db):
                made = dbm.one(
                    db.execute(
                        "INSERT INTO attendees (event_id, token, badge, created_at, created_ip,"
                        " rehearsal) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                        [
                            event_id,
                            token,
                            (badges or [new_badge()]).pop(),
                            dbm.utcnow(),
                            created_ip,
                            int(rehearsal),
                        ],
                    )
                )
                assert made is not None  # RETURNING gives the row just inserted
                return made
        except sqlite3.IntegrityError as exc:
            if "attendees.badge" not in str(exc):
                raise
    raise RuntimeError("no free badge code after 10 tries")
