"""Which stories may show on public screens: staff choose first, organizers have the last word."""

from __future__ import annotations

from typing import Literal

from sqlite_utils import Database

from . import db as dbm
from .conversations import reference_sql

Show = Literal["all", "public", "hidden", "private"]


class UnknownConversation(LookupError):
    pass


def stories(db: Database, event_id: int, show: Show = "all", limit: int = 200) -> list[dict]:
    """Stories newest first, with what the board would do with each."""
    where = {
        "all": "",
        "public": " AND v.public = 1 AND v.hidden = 0",
        "hidden": " AND v.hidden = 1",
        "private": " AND v.public = 0",
    }[show]
    return list(
        db.query(
            f"""SELECT v.uuid, {reference_sql("v")} AS reference, v.story, v.nps, v.source,
                       v.staff_name, v.follow_up, v.public, v.hidden, v.received_at,
                       s.name AS station, l.name AS location
                  FROM conversations v JOIN stations s ON s.id = v.station_id
                  JOIN locations l ON l.id = s.location_id
                 WHERE l.event_id = ?{where} ORDER BY v.id DESC LIMIT ?""",
            [event_id, limit],
        )
    )


def set_visibility(
    db: Database,
    event_id: int,
    uuid: str,
    *,
    public: bool | None = None,
    hidden: bool | None = None,
) -> None:
    """Allow a story on screens (public), or take it off them at once (hidden); boards follow."""
    with dbm.write(db):
        row = db.execute(
            "SELECT v.id FROM conversations v JOIN stations s ON s.id = v.station_id"
            " JOIN locations l ON l.id = s.location_id WHERE v.uuid = ? AND l.event_id = ?",
            [uuid, event_id],
        ).fetchone()
        if row is None:
            raise UnknownConversation(uuid)
        if public is not None:
            db.execute("UPDATE conversations SET public = ? WHERE id = ?", [int(public), row[0]])
        if hidden is not None:
            db.execute("UPDATE conversations SET hidden = ? WHERE id = ?", [int(hidden), row[0]])
