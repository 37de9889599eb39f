"""Schema 10: themes, the groups of stories about the same thing.

A theme keeps its id for the life of the event (actions and links point at it); organizers'
changes (a new label, a merge, a hidden theme, a story moved) are kept apart from what the
machine found, so that re-reading the stories never undoes them.

- `themes`: one per group, for one event and one voice (customers' stories, or employees'
  stories, which are never mixed with customers'). `label` is what every surface shows; the
  machine names a theme once, when it finds it (`machine_label`), and only an organizer renames
  it (`renamed_by`). A merged theme points at the theme that took its stories (`merged_into`).
  `public_label` is the name /insights may show, read from the theme's approved public stories
  alone (tracker/themes/engine.py says why).
- `theme_stories`: each story as the machine read it (its language, its words, its terms) and
  the theme it belongs to; `placed_by` names the organizer who moved it there (the machine never
  moves it again). A story once placed keeps its theme.
- `theme_queue`: the stories to read, queued by triggers in the write's own transaction (a new
  story, or its words edited), on central only; the themes' background task empties it.
- `theme_words`: how many stories of a voice and language use each word, so a misspelt word
  can be read as the frequent word it is closest to.
"""

from __future__ import annotations

_ON_CENTRAL = "(SELECT value FROM settings WHERE key = 'node') IS NOT '1'"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

SQL = f"""
CREATE TABLE themes (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    event_id INTEGER REFERENCES events(id),
    voice TEXT NOT NULL DEFAULT 'customers' CHECK (voice IN ('customers', 'employees')),
    language TEXT,
    machine_label TEXT,
    public_label TEXT,
    renamed_by TEXT,
    renamed_at TEXT,
    hidden_by TEXT,
    hidden_at TEXT,
    merged_into INTEGER REFERENCES themes(id),
    merged_by TEXT,
    merged_at TEXT,
    -- the approved public stories public_label was read from: [[id, CRC-32 of its words], ...]
    public_from TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX themes_event ON themes (event_id, voice);
CREATE TABLE theme_stories (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    words TEXT NOT NULL DEFAULT '[]',
    terms TEXT NOT NULL DEFAULT '[]',
    theme_id INTEGER REFERENCES themes(id),
    placed_at TEXT,
    placed_by TEXT,
    read_at TEXT NOT NULL,
    -- when a pass last found no theme for it: a pass runs for new stories, not for these alone
    tried_at TEXT
);
CREATE INDEX theme_stories_theme ON theme_stories (theme_id);
CREATE INDEX theme_stories_waiting ON theme_stories (conversation_id)
    WHERE theme_id IS NULL AND placed_by IS NULL;
CREATE TABLE theme_queue (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    at TEXT NOT NULL
);
CREATE TABLE theme_words (
    voice TEXT NOT NULL,
    language TEXT NOT NULL,
    word TEXT NOT NULL,
    stories INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (voice, language, word)
) WITHOUT ROWID;
CREATE TRIGGER theme_queue_new AFTER INSERT ON conversations WHEN {_ON_CENTRAL} BEGIN
    INSERT OR REPLACE INTO theme_queue (conversation_id, at) VALUES (new.id, {_NOW});
END;
CREATE TRIGGER theme_queue_edit AFTER UPDATE OF story ON conversations
WHEN old.story IS NOT new.story AND {_ON_CENTRAL} BEGIN
    INSERT OR REPLACE INTO theme_queue (conversation_id, at) VALUES (new.id, {_NOW});
END;
-- What was told before themes existed is read once, like anything new.
INSERT INTO theme_queue (conversation_id, at)
     SELECT id, {_NOW} FROM conversations WHERE {_ON_CENTRAL};
"""
