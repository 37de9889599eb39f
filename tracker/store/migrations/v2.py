"""Schema 2: fewer index pages written per check-in, and a setup version that caches can trust."""

from __future__ import annotations

SQL = """
    -- Every check-in row sits in exactly one of two partial indexes: the first at a station
    -- (counted, unique) or a repeat. Nothing reads check-ins by station and time: totals do.
    DROP INDEX checkins_station;
    DROP INDEX checkins_attendee;
    CREATE INDEX checkins_repeats ON checkins (attendee_id, station_id) WHERE counted = 0;
    -- Bumped by any change to events, locations or stations, from any process: the per-process
    -- cache of those rows (events.py) checks it instead of reading them on every request.
    INSERT INTO settings (key, value) VALUES ('setup_version', 0)
        ON CONFLICT (key) DO NOTHING;
    """ + "".join(
    f"""
    CREATE TRIGGER {table}_setup_{op.lower()} AFTER {op} ON {table} BEGIN
        UPDATE settings SET value = value + 1 WHERE key = 'setup_version';
    END;"""
    for table in ("events", "locations", "stations")
    for op in ("INSERT", "UPDATE", "DELETE")
)
