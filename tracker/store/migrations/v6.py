"""Schema 6: closing the loop and the day's other voices. Conversations may be employees' stories
(source 'employee': told for a location, at no station, never counted toward the goal or the
customers' NPS) and may be highlighted for the report; a follow-up keeps its history (notes,
owners, status changes: who and when); alerts wait in an outbox of their own until sent; and an
event may run staff's quick mode and set its follow-up SLA.

SQLite cannot change a CHECK or a NOT NULL in place: the conversations table is rebuilt as its
documented procedure says (create, copy, drop, rename), and its indexes and triggers made again.
"""

from __future__ import annotations

from ..triggers import conversation_totals, totals_triggers
from .v5 import CONVERSATION_OUTBOX

_COLUMNS = (
    "id, uuid, station_id, attendee_id, source, staff_name, story, nps, topics, follow_up,"
    " contact, owner, status, public, captured_at, received_at, updated_at, counted, approval,"
    " voided_at, voided_by, void_reason, void_batch, rehearsal, revision, device_captured_at"
)

SQL = (
    f"""
    CREATE TABLE conversations_v6 (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        -- NULL for an employee's story, which belongs to a location (location_id) instead
        station_id INTEGER REFERENCES stations(id),
        attendee_id INTEGER REFERENCES attendees(id),
        source TEXT NOT NULL CHECK (source IN ('staff', 'attendee', 'employee')),
        staff_name TEXT,
        story TEXT NOT NULL,
        nps INTEGER CHECK (nps BETWEEN 0 AND 10),
        topics TEXT NOT NULL DEFAULT '[]',
        follow_up INTEGER NOT NULL DEFAULT 0 CHECK (follow_up IN (0, 1)),
        contact TEXT,
        owner TEXT,
        status TEXT CHECK (status IN ('open', 'acknowledged', 'done')),
        public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
        captured_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        updated_at TEXT,
        counted INTEGER NOT NULL DEFAULT 1,
        approval TEXT NOT NULL DEFAULT 'pending'
            CHECK (approval IN ('pending', 'approved', 'rejected')),
        voided_at TEXT,
        voided_by TEXT,
        void_reason TEXT,
        void_batch TEXT,
        rehearsal INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 1,
        device_captured_at TEXT,
        location_id INTEGER REFERENCES locations(id),
        -- chosen by an organizer in moderation for the report to leadership
        highlight INTEGER NOT NULL DEFAULT 0 CHECK (highlight IN (0, 1)),
        CHECK ((source = 'employee') = (station_id IS NULL)),
        CHECK (source != 'employee' OR (location_id IS NOT NULL AND counted = 0))
    );
    INSERT INTO conversations_v6 ({_COLUMNS}) SELECT {_COLUMNS} FROM conversations;
    DROP TABLE conversations;
    ALTER TABLE conversations_v6 RENAME TO conversations;
    CREATE INDEX conversations_station ON conversations (station_id, captured_at);
    CREATE INDEX conversations_attendee ON conversations (attendee_id);
    CREATE INDEX conversations_follow_ups ON conversations (status, received_at) WHERE follow_up = 1;
    CREATE UNIQUE INDEX conversations_told_once ON conversations (attendee_id, station_id)
        WHERE source = 'attendee' AND counted = 1;
    CREATE INDEX conversations_on_screens ON conversations (received_at)
        WHERE public = 1 AND approval = 'approved' AND voided_at IS NULL;
    CREATE INDEX conversations_waiting ON conversations (id)
        WHERE public = 1 AND approval = 'pending' AND voided_at IS NULL;
    CREATE INDEX conversations_rehearsal ON conversations (id) WHERE rehearsal = 1;
    CREATE INDEX conversations_employees ON conversations (location_id, received_at)
        WHERE source = 'employee';
    CREATE INDEX conversations_highlights ON conversations (id) WHERE highlight = 1;
    """
    + totals_triggers(
        "conversations",
        lambda row, sign: conversation_totals(row, sign, quarters=True),
        " AFTER UPDATE OF nps, counted, voided_at, captured_at ON conversations",
    )
    + CONVERSATION_OUTBOX
    + """
    -- A follow-up's history, oldest first: notes, a new owner, each move of its status.
    CREATE TABLE follow_up_events (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('note', 'owner', 'status')),
        text TEXT NOT NULL
    );
    CREATE INDEX follow_up_events_conversation ON follow_up_events (conversation_id, id);
    -- Alerts (e-mail, webhook) wait here until sent: written in the transaction of what they
    -- announce, sent by a background task that retries, never by the request.
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        sent_at TEXT,
        last_error TEXT
    );
    CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE sent_at IS NULL;
    -- Staff's quick mode: badge, score and one topic, the story optional.
    ALTER TABLE events ADD COLUMN quick_mode INTEGER NOT NULL DEFAULT 0
        CHECK (quick_mode IN (0, 1));
    -- Hours within which a follow-up should be acknowledged (NULL: FOLLOW_UP_SLA_HOURS).
    ALTER TABLE events ADD COLUMN follow_up_sla_hours INTEGER CHECK (follow_up_sla_hours > 0);
    """
)
