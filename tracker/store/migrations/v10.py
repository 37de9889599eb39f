"""Schema 10: themes, the groups of stories about the same thing.

A theme keeps its id for the life of the event (actions and links point at it); organizers'
changes (a new label, a merge, a hidden theme, a story moved) are kept apart from what the
machine found, so that re-reading the stories never undoes them.
"""

from __future__ import annotations

SQL = """
CREATE TABLE themes (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
