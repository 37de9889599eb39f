"""Schema 9: alerts follow transitions, written in the write's own transaction.

A conversation that becomes a detractor's (a score of 0-6) or gains a follow-up, however it got
there (logged so at once, corrected later, synced late from a tablet, forwarded by a node),
queues one row in `alert_queue` from a trigger, once per conversation and kind (a unique index);
an owner given a follow-up queues an `assigned` row each time (tracker/followups/changes.py).
The alerts' background task turns the rows whose conversation still qualifies (counted, not
voided, not held, not rehearsal) into notifications; the others wait until it does (a held
story that an organizer trusts alerts then). Nothing is queued on a location node.
"""

from __future__ import annotations

_ON_CENTRAL = "(SELECT value FROM settings WHERE key = 'node') IS NOT '1'"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _queue(name: str, when: str, kind: str) -> str:
    return f"""
    CREATE TRIGGER alert_{name} {when} AND new.rehearsal = 0 AND {_ON_CENTRAL} BEGIN
        INSERT OR IGNORE INTO alert_queue (conversation_id, kind, at) VALUES (new.id, '{kind}', {_NOW});
    END;"""


SQL = (
    """
    CREATE TABLE alert_queue (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('detractor', 'follow_up', 'assigned')),
        recipient TEXT,
        at TEXT NOT NULL,
        handled_at TEXT
    );
    CREATE UNIQUE INDEX alert_queue_once ON alert_queue (conversation_id, kind)
        WHERE kind != 'assigned';
    CREATE INDEX alert_queue_pending ON alert_queue (id) WHERE handled_at IS NULL;
    """
    + _queue("detractor_new", "AFTER INSERT ON conversations WHEN new.nps <= 6", "detractor")
    + _queue(
        "detractor_edit",
        "AFTER UPDATE OF nps ON conversations WHEN new.nps <= 6 AND coalesce(old.nps, 10) > 6",
        "detractor",
    )
    + _queue("follow_up_new", "AFTER INSERT ON conversations WHEN new.follow_up = 1", "follow_up")
    + _queue(
        "follow_up_edit",
        "AFTER UPDATE OF follow_up ON conversations WHEN new.follow_up = 1 AND old.follow_up = 0",
        "follow_up",
    )
)
