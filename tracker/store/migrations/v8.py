"""Schema 8: held records. Behind one venue address (guest wifi NAT) thousands of real phones
share one IP, so tracker no longer refuses a phone for its address: what one address produces
beyond what it can plausibly produce is stored but held, not counted, until an organizer trusts
that network (its records then count) or voids them.

- `held_from` on check-ins, conversations and attendees: the address (or IPv6 /64 network) a
  record was held for, NULL when it counts by the usual rules. An attendee held as a whole
  (a phone first seen past its address's allowance) passes the mark to whatever it records.
- The totals triggers are made again with the rule "counted, not voided, not held"; a change of
  `held_from` (trust, a new hold) takes the old version out and puts the new one in.
- An attendee's own story is held when its teller is, or when their check-in at that station
  is: a story counts only where its check-in counts.
- `events.networks`: the venue's networks (addresses and CIDR networks, JSON) declared in the
  event file or the console, or trusted from the Today page: records from them are never held.
"""

from __future__ import annotations

from ..triggers import HOLD_ATTENDEE_STORY, checkin_totals, conversation_totals, totals_triggers

SQL = (
    """
    ALTER TABLE checkins ADD COLUMN held_from TEXT;
    ALTER TABLE conversations ADD COLUMN held_from TEXT;
    ALTER TABLE attendees ADD COLUMN held_from TEXT;
    ALTER TABLE events ADD COLUMN networks TEXT NOT NULL DEFAULT '[]';
    -- Held rows, found by their address (Today's list, trust, void): a partial index holds
    -- nothing while nothing is held, and costs an ordinary check-in no index write.
    CREATE INDEX checkins_held ON checkins (held_from) WHERE held_from IS NOT NULL;
    CREATE INDEX conversations_held ON conversations (held_from) WHERE held_from IS NOT NULL;
    CREATE INDEX attendees_held ON attendees (held_from) WHERE held_from IS NOT NULL;
    DROP TRIGGER checkins_totals;
    DROP TRIGGER checkins_totals_change;
    DROP TRIGGER checkins_totals_delete;
    DROP TRIGGER conversations_totals;
    DROP TRIGGER conversations_totals_change;
    DROP TRIGGER conversations_totals_delete;
    """
    + totals_triggers(
        "checkins",
        lambda row, sign: checkin_totals(row, sign, quarters=True, held=True),
        " AFTER UPDATE OF counted, voided_at, held_from ON checkins",
    )
    + totals_triggers(
        "conversations",
        lambda row, sign: conversation_totals(row, sign, quarters=True, held=True),
        " AFTER UPDATE OF nps, counted, voided_at, captured_at, held_from ON conversations",
        after_insert=HOLD_ATTENDEE_STORY,
    )
)
