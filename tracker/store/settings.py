"""The `settings` table: small facts kept per database (the served event, the setup version, a
node's last pull, the alerts' watermark), one text value per key."""

from __future__ import annotations

from sqlite_utils import Database


def get(db: Database, key: str) -> str | None:
    """The value stored under `key`, or None."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def put(db: Database, key: str, value: object) -> None:
    """Store `value` (as text) under `key`; writing the same value again changes nothing, so it
    moves no `PRAGMA data_version` for the screens' watcher."""
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value",
        [key, str(value)],
    )
