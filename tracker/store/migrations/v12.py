"""Schema 12: the themes' spelling counts (`theme_words`) hold the words of real stories only.

Before, every story was read into `theme_words`, rehearsal rows included, and they stayed counted
after `flask rehearsal clear` deleted those stories, so the words `flask simulate` made frequent
decided what a real story's misspelt word was read as, during the rehearsal and after it.

- A rehearsal row is never queued for the themes (the rule `customer_queue` keeps since
  schema 11): themes never show one, so nothing of it is read.
- The counts start again: every real story is queued to be read again from its own text (its
  words as read may hold a misspelling read as a rehearsal's word, so they are not counted
  again), and keeps its theme and terms meanwhile and after.
"""

from __future__ import annotations

_ON_CENTRAL = "(SELECT value FROM settings WHERE key = 'node') IS NOT '1'"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

SQL = f"""
DROP TRIGGER theme_queue_new;
DROP TRIGGER theme_queue_edit;
CREATE TRIGGER theme_queue_new AFTER INSERT ON conversations
WHEN new.rehearsal = 0 AND {_ON_CENTRAL} BEGIN
    INSERT OR REPLACE INTO theme_queue (conversation_id, at) VALUES (new.id, {_NOW});
END;
CREATE TRIGGER theme_queue_edit AFTER UPDATE OF story ON conversations
WHEN old.story IS NOT new.story AND new.rehearsal = 0 AND {_ON_CENTRAL} BEGIN
    INSERT OR REPLACE INTO theme_queue (conversation_id, at) VALUES (new.id, {_NOW});
END;
DELETE FROM theme_stories
 WHERE conversation_id IN (SELECT id FROM conversations WHERE rehearsal = 1);
DELETE FROM theme_words;
UPDATE theme_stories SET words = '[]';
DELETE FROM theme_queue;
INSERT INTO theme_queue (conversation_id, at)
     SELECT id, {_NOW} FROM conversations WHERE rehearsal = 0 AND {_ON_CENTRAL};
"""
