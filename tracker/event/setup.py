"""Setting the event up: loading its file idempotently, and the organizer's changes to the event,
its locations and stations, each audited in the same transaction (the console shares these)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from sqlite_utils import Database

from ..contract.sentences import N_, Refusal
from ..security import check_secret, hash_secret, new_code, new_pin
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .file import EventFile, check_country, check_language, check_timezone
from .lookups import UnknownStation, get_event, served_slug, set_served


class DuplicateSlug(ValueError):
    """A location or station with that slug already exists where it must be unique."""


@dataclass
class LoadResult:
    event: Row
    served: str  # the slug of the event servers serve, which a load never changes once set
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    generated_pins: list[tuple[str, str, str]] = field(default_factory=list)


def load_event(db: Database, spec: EventFile, actor: str = audit.COMMAND_LINE) -> LoadResult:
    """Create or update the event from its file, in one transaction.

    Loading again updates names, goal and settings and adds what is new; it never deletes,
    never touches recorded check-ins or conversations, and keeps station codes as they are.
    """
    now = dbm.utcnow()
    e = spec.event
    values = {
        "name": e.name,
        "goal": e.goal,
        "timezone": e.timezone,
        "starts_at": e.starts_at.isoformat() if e.starts_at else None,
        "ends_at": e.ends_at.isoformat() if e.ends_at else None,
        "counts": json.dumps(sorted(set(e.counts))),
        "topics": json.dumps(e.topics),
        "moderation": e.moderation,
        "language": e.language,
    }
    if e.quick_mode is not None:  # left out of the file: a reload keeps the event's setting
        values["quick_mode"] = int(e.quick_mode)
    # Every PIN is hashed before the write lock is taken: fifty stations' scrypt hashes inside
    # one transaction held every check-in back for seconds.
    existing = {
        (loc, st): pin_hash
        for loc, st, pin_hash in db.execute(
            "SELECT l.slug, s.slug, s.pin_hash FROM stations s"
            " JOIN locations l ON l.id = s.location_id JOIN events e ON e.id = l.event_id"
            " WHERE e.slug = ?",
            [e.slug],
        )
    }
    pins = {
        (loc.slug, st.slug): station_pin(existing.get((loc.slug, st.slug)), st.pin)
        for loc in spec.locations
        for st in loc.stations
    }
    with dbm.write(db):
        row = db.execute("SELECT id, networks FROM events WHERE slug = ?", [e.slug]).fetchone()
        if e.networks is not None:  # added to the event's: a reload never drops a trusted one
            stored = json.loads(row[1]) if row else []
            values["networks"] = json.dumps(list(dict.fromkeys([*stored, *e.networks])))
        if row:
            event_id = row[0]
            sets = ", ".join(f"{k} = :{k}" for k in values)
            db.execute(f"UPDATE events SET {sets} WHERE id = :id", {**values, "id": event_id})
        else:
            columns = ["slug", "created_at", *values]
            event_id = db.execute(
                f"INSERT INTO events ({', '.join(columns)})"
                f" VALUES ({', '.join(':' + c for c in columns)})",
                {**values, "slug": e.slug, "created_at": now},
            ).lastrowid
        if served_slug(db) is None:  # the first event loaded is the one served
            set_served(db, e.slug)
        result = LoadResult(event=get_event(db, e.slug), served=served_slug(db) or e.slug)
        (result.updated if row else result.created).append(f"event {e.slug}")
        for loc in spec.locations:
            location_id, created = upsert_location(
                db, event_id, loc.slug, loc.name, loc.city, loc.country, loc.timezone, loc.language
            )
            (result.created if created else result.updated).append(f"location {loc.slug}")
            for st in loc.stations:
                station, pin = upsert_station(
                    db, location_id, st.slug, st.name, st.kind, st.pin, pins[loc.slug, st.slug]
                )
                if pin and not st.pin:
                    result.generated_pins.append((loc.slug, st.slug, pin))
                what = f"station {loc.slug}/{st.slug}"
                (result.created if pin else result.updated).append(what)
        audit.record(
            db,
            event_id,
            actor,
            "event.load",
            f"event {e.slug}",
            None,
            {**values, "created": len(result.created), "updated": len(result.updated)},
        )
    return result


def upsert_location(
    db: Database,
    event_id: int,
    slug: str,
    name: str,
    city: str,
    country: str,
    timezone: str,
    language: str | None = None,
    actor: str | None = None,
) -> tuple[int, bool]:
    """Add a location or refresh its details; returns (id, created). `language` is a BCP 47
    tag of tracker's (None: the event's). With an `actor` (the console) the change is audited;
    an event file's load audits itself as a whole. ValueError for an unknown time zone,
    country or language."""
    check_timezone(timezone)
    language = check_language(language)
    check_country(country)
    with dbm.write(db):
        row = db.execute(
            "SELECT id FROM locations WHERE event_id = ? AND slug = ?", [event_id, slug]
        ).fetchone()
        params = [name, city, country.upper(), timezone, language]
        keys = ("name", "city", "country", "timezone", "language")
        details = dict(zip(keys, params, strict=True))
        if row:
            db.execute(
                "UPDATE locations SET name = ?, city = ?, country = ?, timezone = ?, language = ?"
                " WHERE id = ?",
                [*params, row[0]],
            )
            if actor:
                audit.record(
                    db, event_id, actor, "location.update", f"location {slug}", None, details
                )
            return row[0], False
        cur = db.execute(
            "INSERT INTO locations (name, city, country, timezone, language, event_id, slug)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*params, event_id, slug],
        )
        if actor:
            audit.record(db, event_id, actor, "location.add", f"location {slug}", None, details)
        return int(cur.lastrowid or 0), True


def station_pin(existing_hash: str | None, pin: str | None) -> tuple[str | None, str | None]:
    """(PIN to show once, hash to store) for a station about to be written: a new station gets
    the PIN given or a generated one; an existing one a new hash only when a different PIN is
    given. Slow on purpose (scrypt): call it before the write lock is taken, never inside."""
    if existing_hash is None:
        pin = pin or new_pin()
        return pin, hash_secret(pin)
    if pin and not check_secret(existing_hash, pin):
        return None, hash_secret(pin)
    return None, None


def _pin_hash_of(db: Database, location_id: int, slug: str) -> str | None:
    row = db.execute(
        "SELECT pin_hash FROM stations WHERE location_id = ? AND slug = ?", [location_id, slug]
    ).fetchone()
    return row[0] if row else None


def upsert_station(
    db: Database,
    location_id: int,
    slug: str,
    name: str,
    kind: str,
    pin: str | None = None,
    prepared: tuple[str | None, str | None] | None = None,
    actor: str | None = None,
) -> tuple[int, str | None]:
    """Add a station (new code, given or generated PIN) or refresh it; returns (id, new PIN or None).

    An existing station keeps its code; its PIN changes only when a different one is given.
    `prepared` is station_pin's answer when the caller hashed before its own transaction.
    """
    if prepared is None:
        prepared = station_pin(_pin_hash_of(db, location_id, slug), pin)
    new_pin_value, pin_hash = prepared
    with dbm.write(db):
        row = db.execute(
            "SELECT id FROM stations WHERE location_id = ? AND slug = ?", [location_id, slug]
        ).fetchone()
        if row:
            db.execute("UPDATE stations SET name = ?, kind = ? WHERE id = ?", [name, kind, row[0]])
            if pin_hash:
                db.execute("UPDATE stations SET pin_hash = ? WHERE id = ?", [pin_hash, row[0]])
            return row[0], None
        if pin_hash is None:  # made by another writer since it was prepared: hash it now
            new_pin_value, pin_hash = station_pin(None, pin)
        cur = db.execute(
            "INSERT INTO stations (location_id, slug, name, kind, code, pin_hash)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [location_id, slug, name, kind, new_code(), pin_hash],
        )
        station_id = int(cur.lastrowid or 0)
        if actor:
            event_id, subject = describe(db, "stations", station_id)
            audit.record(db, event_id, actor, "station.add", subject, None, {"kind": kind})
        return station_id, new_pin_value


def describe(db: Database, table: str, row_id: int) -> tuple[int | None, str]:
    """(event id, "location Cork" / "station Cork / Main booth" / "event cx-day") for the audit."""
    if table == "events":
        row = db.execute("SELECT id, slug FROM events WHERE id = ?", [row_id]).fetchone()
        return (row[0], f"event {row[1]}") if row else (None, f"event #{row_id}")
    if table == "locations":
        row = db.execute("SELECT event_id, name FROM locations WHERE id = ?", [row_id]).fetchone()
        return (row[0], f"location {row[1]}") if row else (None, f"location #{row_id}")
    row = db.execute(
        "SELECT l.event_id, l.name, s.name FROM stations s JOIN locations l ON l.id = s.location_id"
        " WHERE s.id = ?",
        [row_id],
    ).fetchone()
    return (row[0], f"station {row[1]} / {row[2]}") if row else (None, f"station #{row_id}")


def reset_pin(
    db: Database, station_id: int, pin: str | None = None, actor: str = audit.COMMAND_LINE
) -> str:
    """Give a station a new PIN (generated unless given) and return it; the old one stops working
    and every lockout at the station ends. Audited (the PIN itself never is)."""
    pin = pin or new_pin()
    hashed = hash_secret(pin)  # slow on purpose: computed before the write lock is taken
    with dbm.write(db):
        cur = db.execute("UPDATE stations SET pin_hash = ? WHERE id = ?", [hashed, station_id])
        if cur.rowcount != 1:
            raise UnknownStation(station_id)
        # A new PIN opens sign-in again for every address that was locked out.
        db.execute("DELETE FROM sign_in_failures WHERE station_id = ?", [station_id])
        event_id, subject = describe(db, "stations", station_id)
        audit.record(db, event_id, actor, "station.reset_pin", subject)
    return pin


def set_active(
    db: Database,
    table: Literal["stations", "locations"],
    row_id: int,
    active: bool,
    actor: str = audit.COMMAND_LINE,
) -> None:
    """Deactivate (or bring back) a station or location; its records and totals stay. Audited."""
    with dbm.write(db):
        before = db.execute(f"SELECT active FROM {table} WHERE id = ?", [row_id]).fetchone()
        if before is None or bool(before[0]) == active:
            return
        db.execute(
            f"UPDATE {table} SET active = ?, closed_at = ? WHERE id = ?",
            [int(active), None if active else dbm.utcnow(), row_id],
        )
        event_id, subject = describe(db, table, row_id)
        action = "activate" if active else "deactivate"
        audit.record(
            db,
            event_id,
            actor,
            f"{table[:-1]}.{action}",
            subject,
            {"active": bool(before[0])},
            {"active": active},
        )


def rename(
    db: Database,
    table: Literal["stations", "locations", "events"],
    row_id: int,
    name: str,
    actor: str = audit.COMMAND_LINE,
) -> None:
    """A new display name for the event, a location or a station (boards follow). Audited."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise Refusal(N_("a name has 1 to %(max)s characters"), max=80)
    with dbm.write(db):
        before = db.execute(f"SELECT name FROM {table} WHERE id = ?", [row_id]).fetchone()
        if before is None or before[0] == name:
            return
        event_id, subject = describe(db, table, row_id)
        db.execute(f"UPDATE {table} SET name = ? WHERE id = ?", [name, row_id])
        audit.record(
            db,
            event_id,
            actor,
            f"{table[:-1]}.rename",
            subject,
            {"name": before[0]},
            {"name": name},
        )
