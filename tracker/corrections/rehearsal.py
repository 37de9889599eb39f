"""Rehearsal rows: what `flask simulate` wrote, shown on the boards while the team rehearses and
removed in one step before the day, bringing every total back to exactly what it was."""

from __future__ import annotations

from sqlite_utils import Database

from ..store import audit
from ..store import db as dbm

# Rows removed per transaction: a large rehearsal is cleared in short writes, so check-ins
# arriving meanwhile wait for one batch, not for the whole clear.
BATCH = 500


def counts(db: Database, event_id: int) -> dict[str, int]:
    """How many rehearsal check-ins, conversations and attendees the event holds."""
    out = {}
    for table in ("checkins", "conversations"):
        out[table] = db.execute(
            f"SELECT count(*) FROM {table} r INDEXED BY {table}_rehearsal"
            " JOIN stations s ON s.id = r.station_id JOIN locations l ON l.id = s.location_id"
            " WHERE r.rehearsal = 1 AND l.event_id = ?",
            [event_id],
        ).fetchone()[0]
    out["attendees"] = db.execute(
        "SELECT count(*) FROM attendees WHERE rehearsal = 1 AND event_id = ?", [event_id]
    ).fetchone()[0]
    return out


def clear(db: Database, event_id: int, actor: str = audit.COMMAND_LINE) -> dict[str, int]:
    """Delete every rehearsal row of the event (the delete triggers take each out of the totals,
    a held one having never been in them); real rows stay as they are, held ones held. Returns
    how many of each were removed; audited."""
    removed = {"checkins": 0, "conversations": 0, "attendees": 0}
    for table in ("conversations", "checkins"):
        while True:
            batch = (
                f"SELECT r.id FROM {table} r INDEXED BY {table}_rehearsal"
                " JOIN stations s ON s.id = r.station_id JOIN locations l ON l.id = s.location_id"
                " WHERE r.rehearsal = 1 AND l.event_id = ? LIMIT ?"
            )
            with dbm.write(db):
                if table == "conversations":  # a rehearsal follow-up's notes go with it
                    db.execute(
                        f"DELETE FROM follow_up_events WHERE conversation_id IN ({batch})",
                        [event_id, BATCH],
                    )
                n = db.execute(
                    f"DELETE FROM {table} WHERE id IN ({batch})", [event_id, BATCH]
                ).rowcount
            removed[table] += n
            if n < BATCH:
                break
    with dbm.write(db):
        # A real conversation that staff tied to a rehearsal badge keeps its story, not the link.
        db.execute(
            "UPDATE conversations SET attendee_id = NULL WHERE attendee_id IN"
            " (SELECT id FROM attendees WHERE rehearsal = 1 AND event_id = ?)",
            [event_id],
        )
        removed["attendees"] = db.execute(
            "DELETE FROM attendees WHERE rehearsal = 1 AND event_id = ?"
            # one probe per partial index (checkins_counted_once, checkins_repeats)
            " AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.attendee_id = attendees.id"
            "                 AND c.counted = 1)"
            " AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.attendee_id = attendees.id"
            "                 AND c.counted = 0)",
            [event_id],
        ).rowcount
        # What only the rehearsal touched goes too: emptied quarter-hour buckets, and the last activity
        # of a station nobody really used (one that was used keeps the latest moment known).
        db.execute(
            "DELETE FROM station_quarters WHERE checkins = 0 AND conversations = 0 AND station_id IN"
            " (SELECT s.id FROM stations s JOIN locations l ON l.id = s.location_id"
            "  WHERE l.event_id = ?)",
            [event_id],
        )
        db.execute(
            "UPDATE station_totals SET last_activity_at = NULL"
            " WHERE checkins = 0 AND repeat_checkins = 0 AND conversations = 0"
            " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.station_id ="
            "                 station_totals.station_id)"
            # real check-ins held there (counted nowhere yet) are activity too
            " AND NOT EXISTS (SELECT 1 FROM checkins h INDEXED BY checkins_held"
            "                 WHERE h.held_from IS NOT NULL"
            "                 AND h.station_id = station_totals.station_id)"
            " AND station_id IN (SELECT s.id FROM stations s JOIN locations l"
            "                    ON l.id = s.location_id WHERE l.event_id = ?)",
            [event_id],
        )
        audit.record(db, event_id, actor, "rehearsal.clear", "rehearsal rows", None, removed)
    return removed
