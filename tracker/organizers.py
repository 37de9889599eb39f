"""The organizer's password: set by a CLI command (stored hashed) or the ADMIN_PASSWORD variable."""

from __future__ import annotations

import hmac

from sqlite_utils import Database

from . import db as dbm
from .security import check_secret, hash_secret

MIN_LENGTH = 10
KEY = "admin_password_hash"


class WeakPassword(ValueError):
    """Refused: too short to guard the follow-up list and everyone's contact details."""


def set_password(db: Database, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")
    with dbm.write(db):
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [KEY, hash_secret(password)],
        )


def has_password(db: Database, env_password: str | None) -> bool:
    return bool(env_password) or _stored(db) is not None


def check_password(db: Database, password: str, env_password: str | None) -> bool:
    """True for the environment's password or the stored one; never for an empty or default one."""
    if not password:
        return False
    if env_password and hmac.compare_digest(password.encode(), env_password.encode()):
        return True
    stored = _stored(db)
    return stored is not None and check_secret(stored, password)


def _stored(db: Database) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [KEY]).fetchone()
    return row[0] if row else None
