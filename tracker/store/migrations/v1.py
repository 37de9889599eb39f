"""Schema 1: events, locations, stations, attendees, check-ins, conversations, and the totals."""

from __future__ import annotations

SQL = """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        goal INTEGER NOT NULL DEFAULT 1000 CHECK (goal > 0),
        timezone TEXT NOT NULL,
        starts_at TEXT,
        ends_at TEXT,
        counts TEXT NOT NULL DEFAULT '["checkins", "conversations"]',
        topics TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE TABLE locations (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        city TEXT NOT NULL,
        country TEXT NOT NULL,
        timezone TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        UNIQUE (event_id, slug)
    );
    CREATE TABLE stations (
        id INTEGER PRIMARY KEY,
        location_id INTEGER NOT NULL REFERENCES locations(id),
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        code TEXT NOT NULL UNIQUE,
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        UNIQUE (location_id, slug)
    );
    CREATE TABLE attendees (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        token TEXT NOT NULL UNIQUE,
        badge TEXT NOT NULL UNIQUE,
        name TEXT,
        email TEXT,
        company TEXT,
        consent INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        erased_at TEXT
    );
    CREATE TABLE checkins (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        station_id INTEGER NOT NULL REFERENCES stations(id),
        attendee_id INTEGER NOT NULL REFERENCES attendees(id),
        counted INTEGER NOT NULL CHECK (counted IN (0, 1)),
        scanned_at TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    -- The database itself guarantees "the first check-in of an attendee at a station counts once".
    CREATE UNIQUE INDEX checkins_counted_once ON checkins (attendee_id, station_id) WHERE counted = 1;
    CREATE INDEX checkins_attendee ON checkins (attendee_id, station_id);
    CREATE INDEX checkins_station ON checkins (station_id, received_at);
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        station_id INTEGER NOT NULL REFERENCES stations(id),
        attendee_id INTEGER REFERENCES attendees(id),
        source TEXT NOT NULL CHECK (source IN ('staff', 'attendee')),
        staff_name TEXT,
        story TEXT NOT NULL,
        nps INTEGER CHECK (nps BETWEEN 0 AND 10),
        topics TEXT NOT NULL DEFAULT '[]',
        follow_up INTEGER NOT NULL DEFAULT 0 CHECK (follow_up IN (0, 1)),
        contact TEXT,
        owner TEXT,
        status TEXT CHECK (status IN ('open', 'acknowledged', 'done')),
        public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
        hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
        captured_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        updated_at TEXT
    );
    CREATE INDEX conversations_station ON conversations (station_id, captured_at);
    CREATE INDEX conversations_attendee ON conversations (attendee_id);
    CREATE INDEX conversations_follow_ups ON conversations (status, received_at) WHERE follow_up = 1;
    CREATE INDEX conversations_public ON conversations (received_at) WHERE public = 1 AND hidden = 0;

    -- Maintained totals: the scoreboard reads these, so its cost follows stations, not rows.
    CREATE TABLE station_totals (
        station_id INTEGER PRIMARY KEY REFERENCES stations(id),
        checkins INTEGER NOT NULL DEFAULT 0,
        repeat_checkins INTEGER NOT NULL DEFAULT 0,
        conversations INTEGER NOT NULL DEFAULT 0,
        promoters INTEGER NOT NULL DEFAULT 0,
        passives INTEGER NOT NULL DEFAULT 0,
        detractors INTEGER NOT NULL DEFAULT 0,
        last_activity_at TEXT
    );
    -- Engagements per station and UTC hour ('YYYY-MM-DDTHH'), for charts and the report.
    CREATE TABLE station_hours (
        station_id INTEGER NOT NULL REFERENCES stations(id),
        hour TEXT NOT NULL,
        checkins INTEGER NOT NULL DEFAULT 0,
        conversations INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (station_id, hour)
    ) WITHOUT ROWID;

    CREATE TRIGGER stations_totals_row AFTER INSERT ON stations BEGIN
        INSERT INTO station_totals (station_id) VALUES (new.id);
    END;
    CREATE TRIGGER checkins_totals AFTER INSERT ON checkins BEGIN
        UPDATE station_totals
           SET checkins = checkins + new.counted,
               repeat_checkins = repeat_checkins + 1 - new.counted,
               last_activity_at = new.received_at
         WHERE station_id = new.station_id;
        INSERT INTO station_hours (station_id, hour, checkins)
             SELECT new.station_id, substr(new.received_at, 1, 13), 1 WHERE new.counted = 1
        ON CONFLICT (station_id, hour) DO UPDATE SET checkins = checkins + 1;
    END;
    CREATE TRIGGER conversations_totals AFTER INSERT ON conversations BEGIN
        UPDATE station_totals
           SET conversations = conversations + 1,
               promoters = promoters + ifnull(new.nps >= 9, 0),
               passives = passives + ifnull(new.nps IN (7, 8), 0),
               detractors = detractors + ifnull(new.nps <= 6, 0),
               last_activity_at = new.received_at
         WHERE station_id = new.station_id;
        -- A device clock that runs ahead is clamped to the moment the server received it.
        INSERT INTO station_hours (station_id, hour, conversations)
             VALUES (new.station_id, substr(min(new.captured_at, new.received_at), 1, 13), 1)
        ON CONFLICT (station_id, hour) DO UPDATE SET conversations = conversations + 1;
    END;
    CREATE TRIGGER conversations_nps_edit AFTER UPDATE OF nps ON conversations
    WHEN old.nps IS NOT new.nps BEGIN
        UPDATE station_totals
           SET promoters = promoters - ifnull(old.nps >= 9, 0) + ifnull(new.nps >= 9, 0),
               passives = passives - ifnull(old.nps IN (7, 8), 0) + ifnull(new.nps IN (7, 8), 0),
               detractors = detractors - ifnull(old.nps <= 6, 0) + ifnull(new.nps <= 6, 0)
         WHERE station_id = new.station_id;
    END;
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- Failed staff sign-ins per station, whatever the IP: the lockout counts these.
    CREATE TABLE sign_in_failures (
        id INTEGER PRIMARY KEY,
        station_id INTEGER NOT NULL REFERENCES stations(id),
        failed_at TEXT NOT NULL
    );
    CREATE INDEX sign_in_failures_station ON sign_in_failures (station_id, failed_at);
    """
