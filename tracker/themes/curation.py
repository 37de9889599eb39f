"""An organizer's changes to themes: rename, merge, hide (and show again), move a story. Each is
audited in its own transaction (store/audit.py) and kept apart from what the machine found, so
no later pass undoes it (engine.py says how)."""

from __future__ import annotations

from sqlite_utils import Database

from ..store import audit
from ..store import db as dbm
from ..stories.text import reference
from .listing import UnknownTheme

LABEL_MAX = 80


class BadLabel(ValueError):
    """A theme's name must have 1-80 characters of text."""


class SameTheme(ValueError):
    """A theme cannot be merged into itself."""


def _theme(db: Database, event_id: int, theme_id: int) -> dict:
    row = dbm.one(
        db.execute(
            "SELECT id, label, hidden_at FROM themes WHERE id = ? AND event_id = ?"
            " AND merged_into IS NULL",
            [theme_id, event_id],
        )
    )
    if row is None:
        raise UnknownTheme(theme_id)
    return row


def _subject(row: dict) -> str:
    return f"theme {row['id']} ({row['label']})"


def rename(db: Database, event_id: int, theme_id: int, label: str, actor: str) -> None:
    """Give a theme the name an organizer chose; it is shown everywhere, /insights included."""
    clean = " ".join("".join(ch for ch in label if ch.isprintable()).split())
    if not clean or len(clean) > LABEL_MAX:
        raise BadLabel(label)
    with dbm.write(db):
        row = _theme(db, event_id, theme_id)
        if clean == row["label"]:
            return
        db.execute(
            "UPDATE themes SET label = ?, renamed_by = ?, renamed_at = ? WHERE id = ?",
            [clean, actor, dbm.utcnow(), theme_id],
        )
        audit.record(db, event_id, actor, "theme.rename", _subject(row), row["label"], clean)


def merge(db: Database, event_id: int, theme_id: int, into_id: int, actor: str) -> None:
    """Move every story of `theme_id` into `into_id` (the same theme told in two languages, say);
    the merged theme points at the other, so what would have joined it joins that one."""
    if theme_id == into_id:
        raise SameTheme(theme_id)
    with dbm.write(db):
        row, into = _theme(db, event_id, theme_id), _theme(db, event_id, into_id)
        now = dbm.utcnow()
        moved = db.execute(
            "UPDATE theme_stories SET theme_id = ? WHERE theme_id = ?", [into_id, theme_id]
        ).rowcount
        db.execute("UPDATE themes SET merged_into = ? WHERE merged_into = ?", [into_id, theme_id])
        db.execute(
            "UPDATE themes SET merged_into = ?, merged_by = ?, merged_at = ? WHERE id = ?",
            [into_id, actor, now, theme_id],
        )
        audit.record(
            db, event_id, actor, "theme.merge", _subject(row), None,
            {"into": into_id, "label": into["label"], "stories": moved},
        )  # fmt: skip


def hide(db: Database, event_id: int, theme_id: int, actor: str, hidden: bool = True) -> None:
    """Hide a theme from every surface (noise, or not for screens), or show it again. A hidden
    theme keeps its stories and keeps catching new ones about the same thing."""
    with dbm.write(db):
        row = _theme(db, event_id, theme_id)
        if bool(row["hidden_at"]) == hidden:
            return
        db.execute(
            "UPDATE themes SET hidden_at = ?, hidden_by = ? WHERE id = ?",
            [dbm.utcnow() if hidden else None, actor if hidden else None, theme_id],
        )
        audit.record(db, event_id, actor, "theme.hide" if hidden else "theme.show", _subject(row))


def move(
    db: Database, event_id: int, conversation_id: int, theme_id: int | None, actor: str
) -> None:
    """Put one story in another theme, or in none (`theme_id` None); the machine never moves it
    again. A story not read yet is placed all the same (it is read later, and stays)."""
    with dbm.write(db):
        target = _theme(db, event_id, theme_id) if theme_id is not None else None
        story = db.execute(
            "SELECT c.id FROM conversations c LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " WHERE c.id = ? AND l.event_id = ?",
            [conversation_id, event_id],
        ).fetchone()
        if story is None:
            raise LookupError(conversation_id)
        before = db.execute(
            "SELECT theme_id FROM theme_stories WHERE conversation_id = ?", [conversation_id]
        ).fetchone()
        now = dbm.utcnow()
        db.execute(
            "INSERT INTO theme_stories (conversation_id, language, theme_id, placed_at,"
            " placed_by, read_at) VALUES (?, '', ?, ?, ?, ?) ON CONFLICT (conversation_id)"
            " DO UPDATE SET theme_id = excluded.theme_id, placed_at = excluded.placed_at,"
            " placed_by = excluded.placed_by",
            [conversation_id, theme_id, now, actor, now],
        )
        audit.record(
            db, event_id, actor, "theme.move", reference(conversation_id),
            before[0] if before else None,
            None if target is None else {"theme": theme_id, "label": target["label"]},
        )  # fmt: skip
