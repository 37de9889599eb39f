"""Bursts of new attendee identities from one address: the mark of a script inflating the count.

A whole venue may share one address, so a burst is flagged for an organizer to judge, never
acted on by itself. The organizer can void everything the burst's identities recorded, or
restore it. Windows are ten minutes of UTC time ("2026-10-07T10:10" to "…T10:20").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from ..contract.sentences import N_, Refusal
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .voids import checked_reason, set_for_attendees

WINDOW_MINUTES = 10
LOOK_BACK = timedelta(hours=48)

# Attendees whose first check-in came from one address within one ten-minute window.
_BURST = (
    "SELECT id FROM attendees WHERE event_id = ? AND created_ip = ?"
    " AND substr(created_at, 1, 15) = ? AND rehearsal = 0"
)


def _window(start: str) -> str:
    """'2026-10-07T10:10' for any moment of that window, checked (the window comes back from
    the page's form: a damaged one is refused in words, not strptime's)."""
    try:
        moment = datetime.strptime(start[:15] + "0", "%Y-%m-%dT%H:%M")
    except ValueError:
        raise Refusal(
            N_("%(window)s is not a burst's window (YYYY-MM-DDTHH:MM)"), window=repr(start[:40])
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M")[:15]


def flagged(db: Database, event_id: int, threshold: int, now: datetime | None = None) -> list[Row]:
    """Address-and-window pairs with at least `threshold` new identities in the last 48 hours,
    newest first: {"ip", "window" (its first minute, UTC), "identities", "voided" (those
    whose check-ins are all voided)}."""
    since = dbm.iso((now or datetime.now(UTC)) - LOOK_BACK)
    rows = db.execute(
        "SELECT created_ip, substr(created_at, 1, 15) AS w, count(*),"
        # one probe per partial index (checkins_counted_once, checkins_repeats): without the
        # `counted` term SQLite can use neither and reads every check-in for each attendee
        " sum(NOT EXISTS (SELECT 1 FROM checkins c WHERE c.attendee_id = a.id AND c.counted = 1"
        "                 AND c.voided_at IS NULL)"
        "     AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.attendee_id = a.id"
        "                 AND c.counted = 0 AND c.voided_at IS NULL))"
        " FROM attendees a WHERE event_id = ? AND created_at >= ? AND created_ip IS NOT NULL"
        " AND rehearsal = 0 GROUP BY created_ip, w HAVING count(*) >= ? ORDER BY w DESC, 1",
        [event_id, since, threshold],
    ).fetchall()
    return [
        {"ip": ip, "window": window + "0", "identities": n, "voided": voided}
        for ip, window, n, voided in rows
    ]


def void_burst(
    db: Database, event_id: int, ip: str, window: str, actor: str, reason: str
) -> dict[str, int]:
    """Void every check-in and own story of the identities one address made in one window."""
    reason, bucket = checked_reason(reason), _window(window)
    with dbm.write(db):
        changed = set_for_attendees(db, _BURST, [event_id, ip, bucket], actor, reason)
        audit.record(
            db,
            event_id,
            actor,
            "burst.void",
            f"{ip} at {bucket}0",
            None,
            {**changed, "reason": reason},
        )
    return changed


def restore_burst(db: Database, event_id: int, ip: str, window: str, actor: str) -> dict[str, int]:
    bucket = _window(window)
    with dbm.write(db):
        changed = set_for_attendees(db, _BURST, [event_id, ip, bucket], actor, None)
        audit.record(db, event_id, actor, "burst.restore", f"{ip} at {bucket}0", None, changed)
    return changed
