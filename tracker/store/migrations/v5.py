"""Schema 5: location nodes. On central, the enrolled nodes (a token's hash per location, and
what each last reported); on a node, the outbox of records still to forward to central, in order."""

from __future__ import annotations

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


# A new conversation, and every edit that travels (schema 6 makes them again after its rebuild).
CONVERSATION_OUTBOX = _queue(
    "conversation_new", "AFTER INSERT ON conversations", "conversation", "uuid"
) + _queue(
    "conversation_edit",
    "AFTER UPDATE OF story, nps, topics, follow_up, contact, owner, public, revision,"
    " attendee_id, status ON conversations",
    "conversation",
    "uuid",
)

SQL = (
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
    + CONVERSATION_OUTBOX
)
