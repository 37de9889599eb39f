"""Schema 4: every location's hours in its own time, to the minute (+05:30, +05:45): engagements
are bucketed by quarter hour, which every time zone's offset is a multiple of; each location's
language; and a short code per station that a person can type."""

from __future__ import annotations

from ..triggers import checkin_totals, conversation_totals, quarter, totals_triggers

SHORT_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # security.BADGE_ALPHABET
SHORT_CODE_SQL = " || ".join(
    [f"substr('{SHORT_CODE_ALPHABET}', abs(random()) % {len(SHORT_CODE_ALPHABET)} + 1, 1)"] * 6
)

SQL = (
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
