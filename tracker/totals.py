"""The event's progress from the maintained per-station totals: cheap enough for every check-in."""

from __future__ import annotations

from sqlite_utils import Database


def engagements(counts: list[str], checkins: int, conversations: int) -> int:
    """What the event counts as engagements (its `counts` setting): check-ins, conversations or both."""
    return (checkins if "checkins" in counts else 0) + (
        conversations if "conversations" in counts else 0
    )


def event_progress(db: Database, event: dict) -> dict:
    """Engagements so far against the goal; only the kinds the event counts add to the total."""
    checkins, conversations = db.execute(
        "SELECT ifnull(sum(t.checkins), 0), ifnull(sum(t.conversations), 0)"
        " FROM station_totals t JOIN stations s ON s.id = t.station_id"
        " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?",
        [event["id"]],
    ).fetchone()
    return progress(event, checkins, conversations)


def progress(event: dict, checkins: int, conversations: int) -> dict:
    """The progress figures from the event's sums (the check-in answer and the scoreboard)."""
    total = engagements(event["counts"], checkins, conversations)
    return {
        "total": total,
        "goal": event["goal"],
        "checkins": checkins,
        "conversations": conversations,
        "percent": round(100 * total / event["goal"], 1),
    }
