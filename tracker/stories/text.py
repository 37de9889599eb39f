"""How a story is written out for people: its reference (T-1001) and its one-line form for a
ticker or a wall. Read-only helpers, apart from the writes in record.py."""

from __future__ import annotations

REFERENCE_BASE = 1000


def reference(row_id: int) -> str:
    """The short number people say on the phone: T-1001, T-1002, ..."""
    return f"T-{REFERENCE_BASE + row_id}"


def reference_sql(alias: str) -> str:
    """The same reference, computed in SQL for lists and exports (`alias` is the conversations table)."""
    return f"'T-' || ({REFERENCE_BASE} + {alias}.id)"


STORY_CHARS = 240  # a ticker or wall line, not an essay


def short_story(story: str) -> str:
    """A story as one line of at most STORY_CHARS characters, cut at a word: a ticker or wall
    line (the board, /insights, the employees' wall)."""
    story = " ".join(story.split())
    if len(story) <= STORY_CHARS:
        return story
    return story[: STORY_CHARS - 1].rsplit(" ", 1)[0] + "…"
