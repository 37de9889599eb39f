"""The schema: numbered migrations, and the triggers that keep the totals in the same transaction
as every write (the scoreboard reads those totals, never the rows).

`db.migrate` applies what a database lacks, at every start. Never edit a released entry: append.
"""

from __future__ import annotations

from .triggers import (
    checkin_totals,
    conversation_totals,
    quarter,
    totals_triggers,
)

# Each entry moves the schema one version forward; the index + 1 is the PRAGMA user_version it
# leaves behind. Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    """
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
    """,
    # 2: fewer index pages written per check-in, and a setup version that caches can trust.
    """
    -- Every check-in row sits in exactly one of two partial indexes: the first at a station
    -- (counted, unique) or a repeat. Nothing reads check-ins by station and time: totals do.
    DROP INDEX checkins_station;
    DROP INDEX checkins_attendee;
    CREATE INDEX checkins_repeats ON checkins (attendee_id, station_id) WHERE counted = 0;
    -- Bumped by any change to events, locations or stations, from any process: the per-process
    -- cache of those rows (events.py) checks it instead of reading them on every request.
    INSERT INTO settings (key, value) VALUES ('setup_version', 0)
        ON CONFLICT (key) DO NOTHING;
    """
    + "".join(
        f"""
    CREATE TRIGGER {table}_setup_{op.lower()} AFTER {op} ON {table} BEGIN
        UPDATE settings SET value = value + 1 WHERE key = 'setup_version';
    END;"""
        for table in ("events", "locations", "stations")
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
]


# 3: every engagement counted by one rule, voided or restored by organizers, rehearsal rows
# removable, stories approved before they show, organizers by name, and an audit trail.
MIGRATIONS.append(
    """
    ALTER TABLE checkins ADD COLUMN voided_at TEXT;
    ALTER TABLE checkins ADD COLUMN voided_by TEXT;
    ALTER TABLE checkins ADD COLUMN void_reason TEXT;
    ALTER TABLE checkins ADD COLUMN void_batch TEXT;
    ALTER TABLE checkins ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE conversations ADD COLUMN approval TEXT NOT NULL DEFAULT 'pending'
        CHECK (approval IN ('pending', 'approved', 'rejected'));
    ALTER TABLE conversations ADD COLUMN voided_at TEXT;
    ALTER TABLE conversations ADD COLUMN voided_by TEXT;
    ALTER TABLE conversations ADD COLUMN void_reason TEXT;
    ALTER TABLE conversations ADD COLUMN void_batch TEXT;
    ALTER TABLE conversations ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
    -- The device's version of the record (each edit on the device adds one): an older version
    -- arriving late never overwrites a newer one.
    ALTER TABLE conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    -- What the device's clock said, kept beside captured_at, which is clamped when implausible.
    ALTER TABLE conversations ADD COLUMN device_captured_at TEXT;
    ALTER TABLE attendees ADD COLUMN created_ip TEXT;
    -- When an organizer closed a station or location: its tablets still sync what they
    -- captured before then, and nothing after.
    ALTER TABLE stations ADD COLUMN closed_at TEXT;
    ALTER TABLE locations ADD COLUMN closed_at TEXT;
    ALTER TABLE attendees ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
    -- An attendee voided as a whole (spam, a script): what they record later is voided as it
    -- arrives, with the same mark, so a restore brings back exactly that void.
    ALTER TABLE attendees ADD COLUMN voided_at TEXT;
    ALTER TABLE attendees ADD COLUMN voided_by TEXT;
    ALTER TABLE attendees ADD COLUMN void_reason TEXT;
    -- One void of a whole attendee (or burst) marks all it voids with one batch id: its
    -- restore brings back exactly those, never a void made on its own.
    ALTER TABLE attendees ADD COLUMN void_batch TEXT;
    ALTER TABLE events ADD COLUMN moderation TEXT NOT NULL DEFAULT 'attendees'
        CHECK (moderation IN ('attendees', 'all'));

    -- An attendee's own story counts once per attendee and station, like a check-in; the
    -- database holds the rule. Stories told before this rule keep the first one counted.
    UPDATE conversations SET counted = 0
     WHERE source = 'attendee' AND id > (
           SELECT min(o.id) FROM conversations o WHERE o.source = 'attendee'
              AND o.attendee_id = conversations.attendee_id
              AND o.station_id = conversations.station_id);
    CREATE UNIQUE INDEX conversations_told_once ON conversations (attendee_id, station_id)
        WHERE source = 'attendee' AND counted = 1;
    -- Before approvals, staff's public stories showed at once and hidden ones were taken off;
    -- attendees' public stories now wait for an organizer.
    UPDATE conversations SET approval = CASE
        WHEN hidden = 1 THEN 'rejected'
        WHEN source = 'staff' THEN 'approved'
        ELSE 'pending' END;
    DROP INDEX conversations_public;
    ALTER TABLE conversations DROP COLUMN hidden;
    CREATE INDEX conversations_on_screens ON conversations (received_at)
        WHERE public = 1 AND approval = 'approved' AND voided_at IS NULL;
    CREATE INDEX conversations_waiting ON conversations (id)
        WHERE public = 1 AND approval = 'pending' AND voided_at IS NULL;
    CREATE INDEX checkins_rehearsal ON checkins (id) WHERE rehearsal = 1;
    CREATE INDEX conversations_rehearsal ON conversations (id) WHERE rehearsal = 1;
    CREATE INDEX attendees_created ON attendees (created_at);

    DROP TRIGGER checkins_totals;
    DROP TRIGGER conversations_totals;
    DROP TRIGGER conversations_nps_edit;
    """
    + totals_triggers("checkins", checkin_totals, " AFTER UPDATE OF counted, voided_at ON checkins")
    + totals_triggers(
        "conversations",
        conversation_totals,
        "\n    AFTER UPDATE OF nps, counted, voided_at, captured_at ON conversations",
    )
    + """
    -- The totals again from the rows, now that attendees' extra stories no longer count.
    UPDATE station_totals SET
        conversations = (SELECT count(*) FROM conversations c
                          WHERE c.station_id = station_totals.station_id AND c.counted = 1),
        promoters = (SELECT count(*) FROM conversations c WHERE c.station_id = station_totals.station_id
                        AND c.counted = 1 AND c.nps >= 9),
        passives = (SELECT count(*) FROM conversations c WHERE c.station_id = station_totals.station_id
                       AND c.counted = 1 AND c.nps IN (7, 8)),
        detractors = (SELECT count(*) FROM conversations c WHERE c.station_id = station_totals.station_id
                         AND c.counted = 1 AND c.nps <= 6);
    UPDATE station_hours SET conversations = 0;
    INSERT INTO station_hours (station_id, hour, conversations)
         SELECT station_id, substr(min(captured_at, received_at), 1, 13) AS h, count(*)
           FROM conversations WHERE counted = 1 GROUP BY station_id, h
    ON CONFLICT (station_id, hour) DO UPDATE SET conversations = excluded.conversations;

    -- One account per organizer, so that every change has a name on it.
    CREATE TABLE organizers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        session_epoch INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO organizers (name, password_hash, created_at, created_by)
         SELECT 'admin', value, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'migration'
           FROM settings WHERE key = 'admin_password_hash';
    DELETE FROM settings WHERE key = 'admin_password_hash';
    -- Who changed what counts or shows, when, from what to what: written in the same
    -- transaction as the change itself.
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        event_id INTEGER REFERENCES events(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        before TEXT,
        after TEXT
    );
    CREATE INDEX audit_event ON audit (event_id, id);

    -- Wrong PINs lock the address that typed them, not every device at the station.
    ALTER TABLE sign_in_failures ADD COLUMN source TEXT NOT NULL DEFAULT '';
    CREATE INDEX sign_in_failures_source ON sign_in_failures (station_id, source, failed_at);
    -- The event the servers serve is chosen once (the first loaded, or `flask event use`), not
    -- "the latest loaded": choosing it changes the setup version that per-process caches trust.
    INSERT INTO settings (key, value)
         SELECT 'current_event', slug FROM events ORDER BY id DESC LIMIT 1;
    CREATE TRIGGER settings_current_event_insert AFTER INSERT ON settings
    WHEN new.key = 'current_event' BEGIN
        UPDATE settings SET value = value + 1 WHERE key = 'setup_version';
    END;
    CREATE TRIGGER settings_current_event_update AFTER UPDATE ON settings
    WHEN new.key = 'current_event' BEGIN
        UPDATE settings SET value = value + 1 WHERE key = 'setup_version';
    END;
    -- A staff sign-in is a row: signing out ends that session, even in a copied cookie.
    CREATE TABLE staff_sessions (
        id TEXT PRIMARY KEY,
        station_id INTEGER NOT NULL REFERENCES stations(id),
        staff_name TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        ended_why TEXT
    );
    """
)

SHORT_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # security.BADGE_ALPHABET
SHORT_CODE_SQL = " || ".join(
    [f"substr('{SHORT_CODE_ALPHABET}', abs(random()) % {len(SHORT_CODE_ALPHABET)} + 1, 1)"] * 6
)

# 4: every location's hours in its own time, to the minute (+05:30, +05:45): engagements are
# bucketed by quarter hour, which every time zone's offset is a multiple of; each location's
# language; and a short code per station that a person can type.
MIGRATIONS.append(
    f"""
    -- Engagements per station and UTC quarter hour ('YYYY-MM-DDTHH:MM', MM in 00 15 30 45).
    CREATE TABLE station_quarters (
        station_id INTEGER NOT NULL REFERENCES stations(id),
        quarter TEXT NOT NULL,
        checkins INTEGER NOT NULL DEFAULT 0,
        conversations INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (station_id, quarter)
    ) WITHOUT ROWID;
    INSERT INTO station_quarters (station_id, quarter, checkins)
         SELECT station_id, {quarter("received_at")} AS q, count(*) FROM checkins
          WHERE counted = 1 AND voided_at IS NULL GROUP BY station_id, q;
    INSERT INTO station_quarters (station_id, quarter, conversations)
         SELECT station_id, {quarter("min(captured_at, received_at)")} AS q, count(*)
           FROM conversations WHERE counted = 1 AND voided_at IS NULL GROUP BY station_id, q
    ON CONFLICT (station_id, quarter) DO UPDATE SET conversations = excluded.conversations;
    DROP TRIGGER checkins_totals;
    DROP TRIGGER checkins_totals_change;
    DROP TRIGGER checkins_totals_delete;
    DROP TRIGGER conversations_totals;
    DROP TRIGGER conversations_totals_change;
    DROP TRIGGER conversations_totals_delete;
    DROP TABLE station_hours;
    """
    + totals_triggers(
        "checkins",
        lambda row, sign: checkin_totals(row, sign, quarters=True),
        " AFTER UPDATE OF counted, voided_at ON checkins",
    )
    + totals_triggers(
        "conversations",
        lambda row, sign: conversation_totals(row, sign, quarters=True),
        " AFTER UPDATE OF nps, counted, voided_at, captured_at ON conversations",
    )
    + """
    -- The language a location's screens, sheets and staff pages speak (null: the event's).
    ALTER TABLE locations ADD COLUMN language TEXT;
    ALTER TABLE events ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    -- Six characters from the badges' alphabet (no 0/O, 1/I/L, 2/Z, 5/S, 8/B): the short link
    -- /j/<short_code> under each station's QR code, for phones whose camera fails.
    ALTER TABLE stations ADD COLUMN short_code TEXT;
    """
    + f"""
    UPDATE stations SET short_code = {SHORT_CODE_SQL};
    CREATE UNIQUE INDEX stations_short_code ON stations (short_code);
    CREATE TRIGGER stations_short_code AFTER INSERT ON stations WHEN new.short_code IS NULL
    BEGIN
        UPDATE stations SET short_code = {SHORT_CODE_SQL} WHERE id = new.id;
    END;
    """
)

# Outbox rows are queued by these triggers only on a location node (settings 'node_mode' = 1),
# and not while the node stores what it pulled from central (it sets node_mode to 0 inside
# that transaction, which no other connection sees).
_ON_NODE = "(SELECT value FROM settings WHERE key = 'node_mode') = '1'"


def _queue(name: str, when: str, kind: str, key: str) -> str:
    return f"""
    CREATE TRIGGER outbox_{name} {when} WHEN {_ON_NODE} BEGIN
        INSERT INTO outbox (kind, uuid, queued_at)
             VALUES ('{kind}', new.{key}, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    END;"""


# 5: location nodes. On central, the enrolled nodes (a token's hash per location, and what each
# last reported); on a node, the outbox of records still to forward to central, in order.
MIGRATIONS.append(
    """
    CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        location_id INTEGER NOT NULL REFERENCES locations(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_seen_at TEXT,
        reported_waiting INTEGER,
        reported_oldest_seconds REAL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('attendee', 'checkin', 'conversation')),
        uuid TEXT NOT NULL,
        queued_at TEXT NOT NULL
    );
    """
    + _queue("attendee_new", "AFTER INSERT ON attendees", "attendee", "token")
    + _queue(
        "attendee_profile",
        "AFTER UPDATE OF name, email, company, consent ON attendees",
        "attendee",
        "token",
    )
    + _queue("checkin_new", "AFTER INSERT ON checkins", "checkin", "uuid")
    + _queue("conversation_new", "AFTER INSERT ON conversations", "conversation", "uuid")
    + _queue(
        "conversation_edit",
        "AFTER UPDATE OF story, nps, topics, follow_up, contact, owner, public, revision,"
        " attendee_id, status ON conversations",
        "conversation",
        "uuid",
    )
)
