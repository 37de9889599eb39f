"""Schema 11: actions on themes, and the messages sent to customers about their follow-ups.

- `actions`: what the team will do about a theme (`themes.id`, which keeps its id for the
  event's life), an owner, a due day (the event's calendar, YYYY-MM-DD) and a status that only
  moves forward (planned -> doing -> done); `action_stories` links the stories it answers, and
  `action_events` keeps its history (who, when, what).
- `customer_queue`: a follow-up that a customer may hear about, written by triggers in the
  write's own transaction on central only (a node's record queues when it reaches central), never
  for rehearsal rows: one acknowledgement per conversation when it gains a follow-up, one closing
  note each time its follow-up becomes done. The outbox's task decides there (consent, address,
  voided, held) and writes what it sends to `customer_messages` and the alerts' `notifications`.
- `customer_messages`: every message to a customer (its language, address, words and the
  notification that carries it), and the customer's answer "not resolved" when they give one.
- `conversations.language`: the language a story was told in, when the teller's phone said it
  (an attendee's own story); otherwise the location's language is the customer's.
"""

from __future__ import annotations

_ON_CENTRAL = "(SELECT value FROM settings WHERE key = 'node') IS NOT '1'"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _queue(name: str, when: str, kind: str, verb: str = "INSERT OR IGNORE") -> str:
    return f"""
    CREATE TRIGGER customer_{name} {when} AND new.rehearsal = 0 AND {_ON_CENTRAL} BEGIN
        {verb} INTO customer_queue (conversation_id, kind, at) VALUES (new.id, '{kind}', {_NOW});
    END;"""


SQL = (
    """
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        theme_id INTEGER REFERENCES themes(id),
        title TEXT NOT NULL,
        owner TEXT,
        due_on TEXT,
        status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'doing', 'done')),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX actions_event ON actions (event_id, status, due_on);
    CREATE INDEX actions_theme ON actions (theme_id);
    CREATE TABLE action_stories (
        action_id INTEGER NOT NULL REFERENCES actions(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        PRIMARY KEY (action_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE TABLE action_events (
        id INTEGER PRIMARY KEY,
        action_id INTEGER NOT NULL REFERENCES actions(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('created', 'title', 'owner', 'due', 'status', 'note')),
        text TEXT NOT NULL
    );
    CREATE INDEX action_events_action ON action_events (action_id, id);

    CREATE TABLE customer_queue (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('acknowledgement', 'closed')),
        at TEXT NOT NULL,
        handled_at TEXT,
        outcome TEXT
    );
    CREATE UNIQUE INDEX customer_queue_acknowledged_once ON customer_queue (conversation_id)
        WHERE kind = 'acknowledgement';
    CREATE INDEX customer_queue_pending ON customer_queue (id) WHERE handled_at IS NULL;
    CREATE TABLE customer_messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('acknowledgement', 'closed')),
        language TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        notification_id INTEGER REFERENCES notifications(id),
        created_at TEXT NOT NULL,
        not_resolved_at TEXT,
        not_resolved_text TEXT
    );
    CREATE INDEX customer_messages_conversation ON customer_messages (conversation_id, id);
    ALTER TABLE conversations ADD COLUMN language TEXT;
    -- Erasing an attendee (corrections/erasure.py) erases the address their messages went to;
    -- an e-mail to them not sent yet leaves the outbox unsent (neither sent nor given up).
    CREATE TRIGGER customer_messages_erased AFTER UPDATE OF erased_at ON attendees
    WHEN new.erased_at IS NOT NULL BEGIN
        UPDATE notifications SET recipient = '', next_attempt_at = 'erased'
         WHERE sent_at IS NULL AND id IN (
               SELECT m.notification_id FROM customer_messages m
                 JOIN conversations c ON c.id = m.conversation_id WHERE c.attendee_id = new.id);
        UPDATE customer_messages SET notification_id = NULL WHERE notification_id IN (
               SELECT id FROM notifications WHERE sent_at IS NULL AND next_attempt_at = 'erased');
        DELETE FROM notifications WHERE sent_at IS NULL AND next_attempt_at = 'erased';
        UPDATE notifications SET recipient = '' WHERE id IN (
               SELECT m.notification_id FROM customer_messages m
                 JOIN conversations c ON c.id = m.conversation_id WHERE c.attendee_id = new.id);
        UPDATE customer_messages SET recipient = '(erased)', not_resolved_text = NULL
         WHERE conversation_id IN (SELECT id FROM conversations WHERE attendee_id = new.id);
    END;
    """
    + _queue(
        "acknowledge_new",
        "AFTER INSERT ON conversations WHEN new.follow_up = 1",
        "acknowledgement",
    )
    + _queue(
        "acknowledge_edit",
        "AFTER UPDATE OF follow_up ON conversations WHEN new.follow_up = 1 AND old.follow_up = 0",
        "acknowledgement",
    )
    + _queue(
        "closed",
        "AFTER UPDATE OF status ON conversations"
        " WHEN new.status = 'done' AND old.status IS NOT 'done' AND new.follow_up = 1",
        "closed",
        verb="INSERT",
    )
)
