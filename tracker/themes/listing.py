"""Themes as they stand now: each with its stories that qualify now (the counting rules read at
every call, so a voided story leaves its theme's figures at once), its scores for the NPS (the
one rule is figures.scoreboard.nps, a floor above: this module gives the answers, not the score),
and the stories in no theme."""

from __future__ import annotations

from collections import Counter
from typing import TypedDict

from sqlite_utils import Database

from ..store import db as dbm
from ..store.db import Row
from .engine import PUBLIC_STORY, VOICE_STORY


class Theme(TypedDict):
    """One theme: `scores` maps each 0-10 answer to how many of its stories gave it (stories
    that count only: the NPS's own rule); `conversation_ids` are row ids, `conversations` the
    ids the conversations were created with (client-made UUIDs), in the same order, newest
    first; `public_label` is what /insights may show (engine.py says when there is one)."""

    id: int
    label: str
    public_label: str | None
    machine_label: str | None
    renamed_by: str | None
    language: str | None
    voice: str
    hidden: bool
    size: int
    scores: dict[int, int]
    conversation_ids: list[int]
    conversations: list[str]
    public_ids: list[int]


class UnknownTheme(LookupError):
    """The event has no such theme (or it was merged into another)."""


def _members(db: Database, event_id: int, voice: str) -> dict[int, list[Row]]:
    found: dict[int, list[Row]] = {}
    for row in dbm.rows(
        db.execute(
            "SELECT t.theme_id, c.id, c.uuid, c.nps, (" + PUBLIC_STORY + ") AS public"
            " FROM themes h JOIN theme_stories t ON t.theme_id = h.id"
            " JOIN conversations c ON c.id = t.conversation_id"
            f" WHERE h.event_id = ? AND h.voice = ? AND {VOICE_STORY[voice]}"
            " ORDER BY c.id DESC",
            [event_id, voice],
        )
    ):
        found.setdefault(row["theme_id"], []).append(row)
    return found


def themes(
    db: Database, event_id: int, voice: str = "customers", hidden: bool = True
) -> list[Theme]:
    """The event's themes of one voice (customers' or employees'), largest first; hidden ones
    too unless `hidden` is False; merged ones never (their stories are in the theme they went
    into). A theme with no story that qualifies now is left out."""
    members = _members(db, event_id, voice)
    listed: list[Theme] = []
    for row in dbm.rows(
        db.execute(
            "SELECT id, label, public_label, machine_label, renamed_by, language, voice,"
            " hidden_at FROM themes WHERE event_id = ? AND voice = ? AND merged_into IS NULL",
            [event_id, voice],
        )
    ):
        stories = members.get(row["id"], [])
        if not stories or (row["hidden_at"] and not hidden):
            continue
        listed.append(
            Theme(
                id=row["id"],
                label=row["label"],
                public_label=row["label"] if row["renamed_by"] else row["public_label"],
                machine_label=row["machine_label"],
                renamed_by=row["renamed_by"],
                language=row["language"],
                voice=row["voice"],
                hidden=row["hidden_at"] is not None,
                size=len(stories),
                scores=dict(Counter(s["nps"] for s in stories if s["nps"] is not None)),
                conversation_ids=[s["id"] for s in stories],
                conversations=[s["uuid"] for s in stories],
                public_ids=[s["id"] for s in stories if s["public"]],
            )
        )
    return sorted(listed, key=lambda t: (-t["size"], t["id"]))


def theme(db: Database, event_id: int, theme_id: int) -> Theme:
    """One theme of the event, hidden or not (UnknownTheme if none, or merged)."""
    row = db.execute(
        "SELECT voice FROM themes WHERE id = ? AND event_id = ? AND merged_into IS NULL",
        [theme_id, event_id],
    ).fetchone()
    if row is None:
        raise UnknownTheme(theme_id)
    for found in themes(db, event_id, row[0]):
        if found["id"] == theme_id:
            return found
    raise UnknownTheme(theme_id)


def unthemed(db: Database, event_id: int, voice: str = "customers") -> list[Row]:
    """The stories of the voice that qualify now and are in no theme (waiting to be read, too
    unlike any other so far, or taken out by an organizer), newest first: id and uuid."""
    return dbm.rows(
        db.execute(
            "SELECT c.id, c.uuid FROM conversations c"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " LEFT JOIN theme_stories t ON t.conversation_id = c.id"
            f" WHERE l.event_id = ? AND {VOICE_STORY[voice]} AND t.theme_id IS NULL"
            " ORDER BY c.id DESC",
            [event_id],
        )
    )


def stories(db: Database, ids: list[int]) -> list[Row]:
    """The stories with these row ids, in that order, as the console lists them: reference
    fields, text, score, where, whether public, and who placed it (None: the machine)."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    found = {
        row["id"]: row
        for row in dbm.rows(
            db.execute(
                "SELECT c.id, c.uuid, c.story, c.nps, c.source, (" + PUBLIC_STORY + ") AS public,"
                " coalesce(s.name, '') AS station, l.name AS location, t.language, t.placed_by,"
                " t.theme_id FROM conversations c LEFT JOIN stations s ON s.id = c.station_id"
                " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
                f" LEFT JOIN theme_stories t ON t.conversation_id = c.id WHERE c.id IN ({marks})",
                ids,
            )
        )
    }
    return [found[i] for i in ids if i in found]


def in_theme(alias: str = "c") -> str:
    """SQL, true when the conversation `alias` is in the theme given as the next parameter (a
    theme merged into it included: its stories moved with it)."""
    return (
        f"EXISTS (SELECT 1 FROM theme_stories ts WHERE ts.conversation_id = {alias}.id"
        " AND ts.theme_id = ?)"
    )


def exists(db: Database, event_id: int, theme_id: int) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM themes WHERE id = ? AND event_id = ? AND merged_into IS NULL",
            [theme_id, event_id],
        ).fetchone()
        is not None
    )
