"""Schema 3: every engagement counted by one rule, voided or restored by organizers, rehearsal
rows removable, stories approved before they show, organizers by name, and an audit trail."""

from __future__ import annotations

from ..triggers import checkin_totals, conversation_totals, totals_triggers

SQL = (
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
