"""Schema 7: a change feed between central and its location nodes, and nothing lost on the way.

- `changes`: one row per insert, update or delete of what a node mirrors (attendees, check-ins,
  conversations), numbered by a sequence that only grows (AUTOINCREMENT never reuses a number,
  even after deletes). A node pulls "the changes after N" and applies each row's current state,
  so voids, approvals, owners, erasures and rehearsal clears travel, not only new rows. Written
  by triggers in the write's own transaction, on central only (a node sets `node` in settings).
- `parked`: on a node, the records central refused, each with its reason, kept until an
  organizer retries or discards them; the rest keep flowing.
- `node_refusals`: on central, what each node sent that was refused, and why; `node_records`:
  which node sent each record, so one action can void what a node sent in a time window.
- `nodes` learns each node's file (a random id the node's file is born with), how many records
  it has had acknowledged (a restarted node that reports fewer came back on an older file), its
  clock offset, its protocol and an alarm an organizer must clear.
"""

from __future__ import annotations

_ON_CENTRAL = "(SELECT value FROM settings WHERE key = 'node') IS NOT '1'"


def _feed(table: str, kind: str, key: str) -> str:
    """Three triggers: a new, a changed and a deleted row of `table` each add one change."""
    now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    return "".join(
        f"""
    CREATE TRIGGER changes_{table}_{verb} AFTER {verb.upper()} ON {table} WHEN {_ON_CENTRAL}
    BEGIN
        INSERT INTO changes (kind, key, at) VALUES ('{kind}', {row}.{key}, {now});
    END;"""
        for verb, row in (("insert", "new"), ("update", "new"), ("delete", "old"))
    )


SQL = (
    """
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('attendee', 'checkin', 'conversation')),
        key TEXT NOT NULL,
        at TEXT NOT NULL
    );
    INSERT INTO changes (kind, key, at)
        SELECT 'attendee', token, created_at FROM attendees ORDER BY id;
    INSERT INTO changes (kind, key, at)
        SELECT 'checkin', uuid, received_at FROM checkins ORDER BY id;
    INSERT INTO changes (kind, key, at)
        SELECT 'conversation', uuid, received_at FROM conversations ORDER BY id;

    -- On a node: a record's queued rows, found at once (a batch covers all of them; a pull
    -- leaves the device's fields of a record that still waits here).
    CREATE INDEX outbox_record ON outbox (kind, uuid);

    CREATE TABLE parked (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        uuid TEXT NOT NULL,
        record TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        parked_at TEXT NOT NULL
    );

    CREATE TABLE node_refusals (
        id INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL REFERENCES nodes(id),
        kind TEXT,
        uuid TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX node_refusals_node ON node_refusals (node_id, id);

    -- On central: which node sent each record first, and when it arrived (an organizer can void
    -- everything one node sent in a time window).
    CREATE TABLE node_records (
        kind TEXT NOT NULL,
        uuid TEXT NOT NULL,
        node_id INTEGER NOT NULL REFERENCES nodes(id),
        at TEXT NOT NULL,
        PRIMARY KEY (kind, uuid)
    ) WITHOUT ROWID;
    CREATE INDEX node_records_window ON node_records (node_id, at);

    ALTER TABLE nodes ADD COLUMN file_id TEXT;
    ALTER TABLE nodes ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE nodes ADD COLUMN clock_offset_seconds REAL;
    ALTER TABLE nodes ADD COLUMN protocol INTEGER;
    ALTER TABLE nodes ADD COLUMN alarm TEXT;
    """
    + _feed("attendees", "attendee", "token")
    + _feed("checkins", "checkin", "uuid")
    + _feed("conversations", "conversation", "uuid")
)
