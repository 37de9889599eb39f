"""The event as servers read it: the served event, its locations and stations (cached per setup
version). The writes that set it up are in tracker/eventsetup.py."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any, Literal

from sqlite_utils import Database

from ..store import audit, settings
from ..store import db as dbm
from ..store.db import Row


class UnknownEvent(LookupError):
    """No event is loaded (or the configured one is missing)."""


class UnknownStation(LookupError):
    """No active station has that code or slug."""


def _event_row(row: Row) -> Row:
    return {**row, "counts": json.loads(row["counts"]), "topics": json.loads(row["topics"])}


# Events, locations and stations change a few times a day and are read on every request: each
# process keeps the rows it has read, for as long as the setup version (bumped by triggers on
# those tables, whichever process writes) stays the same.
_SETUP_VERSION = "SELECT value FROM settings WHERE key = 'setup_version'"
# database path -> (setup version, {key: row})
_setup_rows: dict[str, tuple[tuple[Any, ...], dict[tuple[Any, ...], Row]]] = {}


def _cached(db: Database, key: tuple[Any, ...], read: Callable[[], Row]) -> Row:
    """A copy of the row `read` returns, read once per setup version and process."""
    if db.conn.in_transaction:  # may see changes that will be rolled back: never cache them
        return read()
    version = db.execute(_SETUP_VERSION).fetchone()
    if version is None:  # a database from before the setup version: nothing to check against
        return read()
    path = dbm.path_of(db)
    entry = _setup_rows.get(path)
    if entry is None or entry[0] != version:
        entry = _setup_rows[path] = (version, {})
    row = entry[1].get(key)
    if row is None:
        row = entry[1][key] = read()
    return {k: list(v) if isinstance(v, list) else v for k, v in row.items()}


def get_event(db: Database, slug: str | None = None) -> Row:
    """The event this server runs: the one named, else the one chosen to be served (the first
    loaded, or `flask event use`), else the most recently created."""
    return _cached(db, ("event", slug), lambda: _read_event(db, slug))


def served_slug(db: Database) -> str | None:
    """The slug of the event servers serve when TRACKER_EVENT does not name one."""
    return settings.get(db, "current_event")


def set_served(db: Database, slug: str) -> None:
    settings.put(db, "current_event", slug)


def use_event(db: Database, slug: str, actor: str = audit.COMMAND_LINE) -> Row:
    """Serve another event from now on (every server process follows within a request);
    UnknownEvent when no event has that slug. Audited."""
    with dbm.write(db):
        row = db.execute("SELECT id FROM events WHERE slug = ?", [slug]).fetchone()
        if row is None:
            raise UnknownEvent(slug)
        before = served_slug(db)
        if before != slug:
            set_served(db, slug)
            audit.record(db, row[0], actor, "event.serve", f"event {slug}", before, slug)
    return get_event(db, slug)


def slugs(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT slug FROM events ORDER BY id")]


def similar_slugs(db: Database, slug: str) -> list[str]:
    """Existing event slugs that look like a typo of `slug` (not `slug` itself)."""
    existing = slugs(db)
    if slug in existing:
        return []
    return difflib.get_close_matches(slug, existing, n=3, cutoff=0.75)


def _read_event(db: Database, slug: str | None) -> Row:
    slug = slug or served_slug(db)
    if slug:
        cur = db.execute("SELECT * FROM events WHERE slug = ?", [slug])
    else:
        cur = db.execute("SELECT * FROM events ORDER BY id DESC LIMIT 1")
    row = dbm.one(cur)
    if row is None:
        raise UnknownEvent(slug or "no event loaded: run `flask --app tracker event load FILE`")
    return _event_row(row)


def has_event(db: Database) -> bool:
    return db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None


STATION_COLUMNS = """
    s.id, s.slug, s.name, s.kind, s.code, s.short_code, s.active, s.location_id, s.closed_at,
    l.slug AS location_slug, l.name AS location_name, l.city, l.country, l.timezone,
    l.language AS location_language,
    l.active AS location_active, l.closed_at AS location_closed_at, l.event_id
"""


def station_by_short_code(db: Database, typed: str) -> Row:
    """The active station whose short code a person typed (any case, spaces and dashes
    ignored), or UnknownStation."""
    short_code = "".join(ch for ch in typed.upper() if ch.isalnum())
    if len(short_code) != 6:
        raise UnknownStation(typed)
    row = db.execute("SELECT code FROM stations WHERE short_code = ?", [short_code]).fetchone()
    if row is None:
        raise UnknownStation(typed)
    return station_by_code(db, row[0])


def station_by_code(db: Database, code: str, event_id: int | None = None) -> Row:
    """The active station a QR code points at (of the event, when given), or UnknownStation."""
    return active_station(db, "code", code, event_id)


def active_station(
    db: Database, column: Literal["code", "id"], value: str | int, event_id: int | None = None
) -> Row:
    """An active station (of an active location, of the event when given) with its location, or
    UnknownStation."""
    found = _cached(db, ("station", column, value), lambda: _read_station(db, column, value))
    if event_id is not None and found["event_id"] != event_id:
        raise UnknownStation(value)
    return found


def _read_station(db: Database, column: Literal["code", "id"], value: str | int) -> Row:
    cur = db.execute(
        f"SELECT {STATION_COLUMNS} FROM stations s JOIN locations l ON l.id = s.location_id"
        f" WHERE s.{column} = ? AND s.active = 1 AND l.active = 1",
        [value],
    )
    row = dbm.one(cur)
    if row is None:
        raise UnknownStation(value)
    return row


def station_by_id(db: Database, station_id: int, event_id: int) -> Row | None:
    """A station of the event with its location, active or not (None when there is none)."""
    return dbm.one(
        db.execute(
            f"SELECT {STATION_COLUMNS} FROM stations s JOIN locations l ON l.id = s.location_id"
            " WHERE s.id = ? AND l.event_id = ?",
            [station_id, event_id],
        )
    )


def stations(db: Database, event_id: int, active_only: bool = True) -> list[Row]:
    """Every station of the event with its location, in a stable order (location, station)."""
    where = " AND s.active = 1 AND l.active = 1" if active_only else ""
    return dbm.rows(
        db.execute(
            f"SELECT {STATION_COLUMNS} FROM stations s JOIN locations l ON l.id = s.location_id"
            f" WHERE l.event_id = ?{where} ORDER BY l.name, s.name",
            [event_id],
        )
    )


def locations(db: Database, event_id: int, active_only: bool = True) -> list[Row]:
    where = " AND active = 1" if active_only else ""
    return dbm.rows(
        db.execute(f"SELECT * FROM locations WHERE event_id = ?{where} ORDER BY name", [event_id])
    )


def location_by_slug(db: Database, event_id: int, slug: str) -> Row | None:
    rows = dbm.rows(
        db.execute("SELECT * FROM locations WHERE event_id = ? AND slug = ?", [event_id, slug])
    )
    return rows[0] if rows else None
