"""Schema, migrations and maintained totals."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import traceback
from contextlib import closing

import pytest

from tracker import security
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import settings as eventsettings
from tracker.event import setup as eventsetup
from tracker.people import attendees
from tracker.store import db as dbm

from .conftest import SMALL_EVENT
from .helpers import add_checkins, wait_until


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
        "station_quarters",
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


def test_a_connection_opened_while_a_new_file_is_being_written_waits_for_it(tmp_path):
    """SQLite answers the switch to WAL "database is locked" at once, without waiting, while
    another connection writes the file in its first journal mode (a start's migration): the
    switch waits as a write does. It lost one of six connections opening a new file at once."""
    path = tmp_path / "new.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO t VALUES (1)")
    done = threading.Timer(0.3, lambda: first.execute("COMMIT"))
    done.start()
    try:
        opened = dbm.connect(path)
    finally:
        done.join()
        first.close()
    assert opened.journal_mode == "wal"
    assert opened.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_concurrent_migrations_from_many_connections(tmp_path):
    path = tmp_path / "race.db"
    errors = []

    def run():
        try:
            dbm.migrate(dbm.connect(path))
        except Exception:  # pragma: no cover - the assertion reports it, with where it was raised
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dbm.schema_version(dbm.connect(path)) == dbm.SCHEMA_VERSION


def test_totals_follow_checkins_and_counted_once_is_enforced(db):
    ev = eventsetup.load_event(db, eventfile.read_event_file(SMALL_EVENT)).event
    station = events.stations(db, ev["id"])[0]
    person = attendees.create(db, ev["id"])
    add_checkins(db, station["id"], attendee_id=person["id"], counted=True)
    add_checkins(db, station["id"], attendee_id=person["id"], counted=False)
    with pytest.raises(sqlite3.IntegrityError):
        add_checkins(db, station["id"], attendee_id=person["id"], counted=True)
    row = db.execute(
        "SELECT checkins, repeat_checkins FROM station_totals WHERE station_id = ?", [station["id"]]
    ).fetchone()
    assert row == (1, 1)
    assert db.execute("SELECT sum(checkins) FROM station_quarters").fetchone()[0] == 1


def test_totals_follow_conversations_and_nps_edits(db):
    ev = eventsetup.load_event(db, eventfile.read_event_file(SMALL_EVENT)).event
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
    ev = eventsetup.load_event(db, eventfile.read_event_file(SMALL_EVENT)).event
    with pytest.raises(RuntimeError), dbm.write(db):
        eventsettings.set_goal(db, ev["id"], 999)
        raise RuntimeError("boom")
    assert events.get_event(db)["goal"] == 20


def test_group_write_gives_each_writer_its_own_result_or_error(db_path):
    """Concurrent writers share transactions; one that fails is undone alone."""
    setup = dbm.connect(db_path)
    dbm.migrate(setup)
    setup.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
    setup.close()
    results: dict[int, object] = {}
    leading = threading.Event()

    def writer(n: int) -> None:
        db = dbm.thread_db(db_path)

        def work(db):
            if n == 1:  # the first leader holds on until all others queue: they share one commit
                leading.set()
                group = dbm._file_of(db).group
                wait_until(lambda: len(group.waiting) >= 59, 10, "59 writers queued behind one")
                assert len(group.waiting) == 59
            db.execute("INSERT INTO notes (n) VALUES (?)", [n])
            if n % 7 == 0:
                raise ValueError(f"no {n}")
            return n * 10

        try:
            results[n] = dbm.group_write(db, work)
        except ValueError as exc:
            results[n] = str(exc)
        finally:
            dbm.close_thread_dbs()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, 61)]
    threads[0].start()
    wait_until(leading.is_set, 10, "writer 1 to lead")
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: (f"no {n}" if n % 7 == 0 else n * 10) for n in range(1, 61)}
    check = dbm.connect(db_path)
    stored = {n for (n,) in check.execute("SELECT n FROM notes").fetchall()}
    assert stored == {n for n in range(1, 61) if n % 7}


def test_group_write_inside_a_transaction_joins_it(db):
    db.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError), dbm.write(db):
        assert dbm.group_write(db, lambda d: d.execute("INSERT INTO notes VALUES (1)").rowcount)
        raise RuntimeError("the outer write fails")
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


# What each released schema version leaves in sqlite_master (every table, index and trigger, in
# the text SQLite stores): rewriting how a migration is built must not change it.
RELEASED_SCHEMAS = {
    1: "5d7c9ae75626a66f6302ee0715514b1c965c37ced07b6cd461a588f0e9637bab",
    2: "1bc4f991db8e49caba3d21e82ae42d832585093e4e27e66537f14080f82c69da",
    3: "1968a9b0c7097b18511ca354a5620e40261aa82fd48ef04c9c6716e77a6f03a9",
}


@pytest.mark.parametrize("version", sorted(RELEASED_SCHEMAS))
def test_released_migrations_build_the_schema_they_shipped_with(version):
    with closing(sqlite3.connect(":memory:")) as database:
        for migration in dbm.MIGRATIONS[:version]:
            for statement in dbm._statements(migration):
                database.execute(statement)
        schema = database.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    assert hashlib.sha256(repr(schema).encode()).hexdigest() == RELEASED_SCHEMAS[version]


def old_database(path, version: int):
    """A database as release `version` left it, with one event, location and station."""
    old = dbm.connect(path)
    for migration in dbm.MIGRATIONS[:version]:
        for statement in dbm._statements(migration):
            old.conn.execute(statement)
    old.conn.execute(f"PRAGMA user_version = {version}")
    old.conn.commit()  # the sqlite3 module opened a transaction for the migrations' writes
    now = dbm.utcnow()
    with dbm.write(old):
        old.execute(
            "INSERT INTO events (id, slug, name, timezone, created_at)"
            " VALUES (1, 'day', 'Day', 'UTC', ?)",
            [now],
        )
        old.execute(
            "INSERT INTO locations (id, event_id, slug, name, city, country, timezone)"
            " VALUES (1, 1, 'cork', 'Cork', 'Cork', 'IE', 'Europe/Dublin')"
        )
        old.execute(
            "INSERT INTO stations (id, location_id, slug, name, kind, code, pin_hash)"
            " VALUES (1, 1, 'booth', 'Booth', 'booth', 'code-1', 'x')"
        )
        old.execute(
            "INSERT INTO attendees (id, event_id, token, badge, created_at)"
            " VALUES (1, 1, 'tok', 'ACDEFG', ?)",
            [now],
        )
    return old


def test_version_1_database_moves_to_partial_indexes_and_keeps_passports(tmp_path):
    """A database made by the first release migrates; repeats still show as visits."""
    from tracker.checkins import record as checkins

    old = old_database(tmp_path / "old.db", 1)
    add_checkins(old, 1, attendee_id=1, counted=True)
    add_checkins(old, 1, attendee_id=1, counted=False)
    assert dbm.migrate(old) == dbm.SCHEMA_VERSION
    indexes = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "checkins_repeats" in indexes and "checkins_station" not in indexes
    visits = checkins.passport(old, attendees.by_id(old, 1))["stations"]
    assert [(s["slug"], s["visits"]) for s in visits] == [("booth", 2)]
    version = old.execute("SELECT value FROM settings WHERE key = 'setup_version'").fetchone()
    eventsettings.set_goal(old, 1, 30)
    assert (
        old.execute("SELECT value FROM settings WHERE key = 'setup_version'").fetchone() != version
    )


def test_version_2_database_counts_an_attendees_stories_once_and_keeps_its_organizer(tmp_path):
    """Stories stored before the counting rule: the first of each attendee and station counts,
    the totals are made again from the rows, attendees' public stories wait for approval, a
    hidden story stays off screens, and the stored organizer password becomes account "admin"."""
    from tracker.figures import scoreboard
    from tracker.people import organizers

    old = old_database(tmp_path / "old.db", 2)
    now = dbm.utcnow()
    with dbm.write(old):
        for i, (source, nps, public, hidden) in enumerate(
            [
                ("attendee", 10, 1, 0),
                ("attendee", 10, 1, 0),
                ("attendee", 10, 1, 0),
                ("staff", 3, 1, 1),
                ("staff", 8, 1, 0),
            ]
        ):
            old.execute(
                "INSERT INTO conversations (uuid, station_id, attendee_id, source, story, nps,"
                " public, hidden, captured_at, received_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    f"u{i}",
                    1 if source == "attendee" else None,
                    source,
                    f"story {i}",
                    nps,
                    public,
                    hidden,
                    now,
                    now,
                ],
            )
        old.execute(
            "INSERT INTO settings (key, value) VALUES ('admin_password_hash', ?)",
            [security.hash_secret("an old organizer password")],
        )
    assert dbm.migrate(old) == dbm.SCHEMA_VERSION
    snap = scoreboard.snapshot(old, events.get_event(old))
    assert snap["conversations"] == 3  # one story of the attendee, two of staff
    assert snap["nps"] == {
        "score": 0,
        "promoters": 1,
        "passives": 1,
        "detractors": 1,
        "responses": 3,
    }
    assert [r["story"] for r in snap["recent"]] == ["story 4"]
    hours = old.execute("SELECT sum(conversations) FROM station_quarters").fetchone()[0]
    assert hours == 3
    assert organizers.check_password(old, "admin", "an old organizer password", None)
    assert old.execute(
        "SELECT count(*) FROM settings WHERE key = 'admin_password_hash'"
    ).fetchone() == (0,)


def test_a_write_never_joins_a_transaction_another_greenlet_left_open(db):
    """Under gevent greenlets share a connection: a transaction spanning a yield is refused."""
    import greenlet

    db.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
    seen = []

    def other():
        try:
            with dbm.write(db):
                db.execute("INSERT INTO notes VALUES (2)")
        except RuntimeError as exc:
            seen.append(str(exc))

    intruder = greenlet.greenlet(other)
    with dbm.write(db):
        db.execute("INSERT INTO notes VALUES (1)")
        intruder.switch()  # a yield inside the transaction: the other write must not join it
    assert seen == ["a write joined a transaction that another task left open"]
    assert [n for (n,) in db.execute("SELECT n FROM notes")] == [1]
