"""The audit trail: one row per organizer or staff action that changes what counts or shows.

Each row is written by the domain function that makes the change, inside its transaction, so a
change and its record are stored together or not at all.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict, Unpack

from sqlite_utils import Database

from . import db as dbm
from .db import Row

PAGE_SIZE = 100
# Every action the trail records: the console names each in the organizer's language
# (web/admin/audit_words.py), so a new action is added here and there.
ACTIONS = frozenset(
    {
        "action.create",
        "action.due",
        "action.note",
        "action.owner",
        "action.status",
        "action.title",
        "attendee.erase",
        "attendee.restore",
        "attendee.void",
        "burst.restore",
        "burst.void",
        "checkin.restore",
        "checkin.void",
        "conversation.edit",
        "conversation.restore",
        "conversation.void",
        "customer.acknowledgement",
        "customer.closed",
        "event.counts",
        "event.dates",
        "event.follow_up_sla",
        "event.goal",
        "event.language",
        "event.load",
        "event.moderation",
        "event.networks",
        "event.quick_mode",
        "event.rename",
        "event.serve",
        "event.timezone",
        "event.topics",
        "follow_up.not_resolved",
        "follow_up.note",
        "follow_up.owner",
        "follow_up.status",
        "held.restore",
        "held.void",
        "location.activate",
        "location.add",
        "location.deactivate",
        "location.language",
        "location.rename",
        "location.update",
        "network.trust",
        "node.accept",
        "node.add",
        "node.revoke",
        "node.void",
        "organizer.create",
        "organizer.password",
        "rehearsal.clear",
        "station.activate",
        "station.add",
        "station.deactivate",
        "station.rename",
        "station.reset_pin",
        "station.unlock",
        "story.approve",
        "story.highlight",
        "story.reject",
        "story.unhighlight",
        "theme.hide",
        "theme.merge",
        "theme.move",
        "theme.rename",
        "theme.show",
    }
)
COMMAND_LINE = "command line"  # the actor of changes made with `flask --app tracker ...`


def record(
    db: Database,
    event_id: int | None,
    actor: str,
    action: str,
    subject: str,
    before: object = None,
    after: object = None,
) -> None:
    """Write one audit row; call it inside the write transaction of the change it describes.

    `action` is a dotted name ("checkin.void", "story.approve"); `subject` names what changed in
    words an organizer recognises (a reference, a badge, a station); `before` and `after` are
    JSON-able values or None. `action` is one of ACTIONS (tests/test_audit_words.py reads every
    call); one that is not is still recorded, and the console shows its code.
    """
    db.execute(
        "INSERT INTO audit (event_id, at, actor, action, subject, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [event_id, dbm.utcnow(), actor, action, subject, _json(before), _json(after)],
    )


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class Filters(TypedDict, total=False):
    """What the trail can be narrowed to: `action`, a whole name or its group ("checkin" matches
    "checkin.void"); `actor`, exactly (any case); `text`, searched in subject, before and after."""

    action: str | None
    actor: str | None
    text: str | None


def _where(event_id: int, filters: Filters) -> tuple[str, list[Any]]:
    if unknown := filters.keys() - Filters.__optional_keys__:
        raise TypeError(f"unknown audit filter: {', '.join(sorted(unknown))}")
    where: list[str] = ["(event_id = ? OR event_id IS NULL)"]
    params: list[object] = [event_id]
    if action := filters.get("action"):
        where.append("(action = ? OR action LIKE ?)")
        params += [action, f"{action}.%"]
    if actor := filters.get("actor"):
        where.append("actor = ? COLLATE NOCASE")
        params.append(actor.strip())
    if text := filters.get("text"):
        where.append(
            "(subject LIKE ? ESCAPE '\\' OR before LIKE ? ESCAPE '\\' OR after LIKE ? ESCAPE '\\')"
        )
        params += [dbm.like_anywhere(text.strip())] * 3
    return " AND ".join(where), params


def entries(
    db: Database,
    event_id: int,
    *,
    limit: int | None = PAGE_SIZE,
    offset: int = 0,
    **filters: Unpack[Filters],
) -> list[Row]:
    """Audit rows newest first, narrowed by `filters` (see Filters). No limit (None) lists every
    row, for the CSV export."""
    where, params = _where(event_id, filters)
    sql = f"SELECT id, at, actor, action, subject, before, after FROM audit WHERE {where} ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return dbm.rows(db.execute(sql, params))


def count(db: Database, event_id: int, **filters: Unpack[Filters]) -> int:
    where, params = _where(event_id, filters)
    return int(db.execute(f"SELECT count(*) FROM audit WHERE {where}", params).fetchone()[0])


def actions(db: Database, event_id: int) -> list[str]:
    """The action names in this event's trail, for the filter."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT action FROM audit WHERE event_id = ? OR event_id IS NULL ORDER BY 1",
            [event_id],
        )
    ]
