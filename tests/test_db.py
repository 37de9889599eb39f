"""Schema, migrations and maintained totals."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tracker import attendees, events
from tracker import db as dbm

from .conftest import SMALL_EVENT


def test_migrating_an_empty_database(tmp_path):
    database = dbm.connect(tmp_path / "new.db")
    assert dbm.schema_version(database) == 0
    assert dbm.migrate(database) == dbm.SCHEMA_VERSION
    assert dbm.schema_version(database) == dbm.SCHEMA_VERSION
    assert {
        "events",
        "locations",
        "stations",
        "attendees",
        "checkins",
        "conversations",
        "station_totals",
        "station_hours",
    } <= set(database.table_names())
    # running it again is a no-op
    assert dbm.migrate(database) == dbm.SCHEMA_VERSION


def test_pragmas(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == dbm.BUSY_TIMEOUT_MS


def test_refuses_a_newer_schema(tmp_path):
    database = dbm.connect(tmp_path / "new.db")
    database.execute(f"PRAGMA user_version = {dbm.SCHEMA_VERSION + 1}")
    with pytest.raises(dbm.SchemaTooNew):
        dbm.migrate(database)


def test_concurrent_migrations_from_many_connections(tmp_path):
    path = tmp_path / "race.db"
    errors = []

    def run():
        try:
            dbm.migrate(dbm.connect(path))
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dbm.schema_version(dbm.connect(path)) == dbm.SCHEMA_VERSION


def _insert_checkin(db, uuid, station_id, attendee_id, counted):
    with dbm.write(db):
        db.execute(
            "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [uuid, station_id, attendee_id, counted, dbm.utcnow(), dbm.utcnow()],
        )


def test_totals_follow_checkins_and_counted_once_is_enforced(db):
    ev = events.load_event(db, events.read_event_file(SMALL_EVENT)).event
    station = events.stations(db, ev["id"])[0]
    person = attendees.create(db, ev["id"])
    _insert_checkin(db, "a", station["id"], person["id"], 1)
    _insert_checkin(db, "b", station["id"], person["id"], 0)
    with pytest.raises(sqlite3.IntegrityError):
        _insert_checkin(db, "c", station["id"], person["id"], 1)
    row = db.execute(
        "SELECT checkins, repeat_checkins FROM station_totals WHERE station_id = ?", [station["id"]]
    ).fetchone()
    assert row == (1, 1)
    assert db.execute("SELECT sum(checkins) FROM station_hours").fetchone()[0] == 1


def test_totals_follow_conversations_and_nps_edits(db):
    ev = events.load_event(db, events.read_event_file(SMALL_EVENT)).event
    station = events.stations(db, ev["id"])[0]

    def add(uuid, nps):
        with dbm.write(db):
            db.execute(
                "INSERT INTO conversations (uuid, station_id, source, story, nps, captured_at,"
                " received_at) VALUES (?, ?, 'staff', 'a story', ?, ?, ?)",
                [uuid, station["id"], nps, dbm.utcnow(), dbm.utcnow()],
            )

    for i, nps in enumerate([10, 9, 8, 3, None]):
        add(str(i), nps)

    def totals():
        return db.execute(
            "SELECT conversations, promoters, passives, detractors FROM station_totals"
            " WHERE station_id = ?",
            [station["id"]],
        ).fetchone()

    assert totals() == (5, 2, 1, 1)
    with dbm.write(db):
        db.execute("UPDATE conversations SET nps = 10 WHERE uuid = '3'")  # detractor -> promoter
        db.execute("UPDATE conversations SET nps = 0 WHERE uuid = '4'")  # none -> detractor
    assert totals() == (5, 3, 1, 1)


def test_write_rolls_back_on_error(db):
    ev = events.load_event(db, events.read_event_file(SMALL_EVENT)).event
    with pytest.raises(RuntimeError), dbm.write(db):
        events.set_goal(db, ev["id"], 999)
        raise RuntimeError("boom")
    assert events.get_event(db)["goal"] == 20
