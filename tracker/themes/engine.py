"""Finding themes: one pass reads the stories queued since the last (theme_queue, written by
triggers in each story's own transaction), places every story that waits for a theme, and names
what may be named in public. The themes' background task (worker.py) runs passes; so may a test
or a command. A pass never runs inside a request.

Which stories: those that count, as the totals count them (store/triggers.counts: counted, not
voided, not held), and not rehearsal rows; employees' stories (never counted) when not voided,
held or rehearsal, and always in themes of their own. A story that stops qualifying (voided
later) leaves its theme's figures at once (listing.py reads the rule again), and comes back
with its theme when restored.

Stable: a story once placed keeps its theme; a theme keeps its id and label (the machine names
it once; only an organizer renames it); an organizer's move, merge or hiding is never undone: a
moved story is the organizer's (placed_by), a merged theme's stories and its future matches
belong to the theme it went into, and a hidden theme keeps catching what is about it, so the same
noise never comes back as a new theme.

The public name (`public_label`): /insights is public, and a label read from private stories can
carry a name or a complaint nobody agreed to show. So a theme's public name is the best key
phrase of its approved public stories alone (YAKE over those stories only), kept with the ids it
was read from and read again when they change; a theme none of whose stories is approved and
public has no public name and /insights does not list it. An organizer's name is public as given.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlite_utils import Database

from ..store import db as dbm
from ..store.triggers import counts
from . import grouping, reading

QUEUE_BATCH = 500  # stories read per transaction
LABEL_STORIES = 40  # stories a label is read from (the newest)
LABEL_CHARS = 60

# A customer's story that themes read: it counts (the totals' rule) and is not a rehearsal row.
CUSTOMER_STORY = f"c.source != 'employee' AND {counts('c', held=True)} AND c.rehearsal = 0"
# An employee's story: never counted, so not voided, not held, not a rehearsal row.
EMPLOYEE_STORY = (
    "c.source = 'employee' AND c.voided_at IS NULL AND c.held_from IS NULL AND c.rehearsal = 0"
)
VOICE_STORY = {"customers": CUSTOMER_STORY, "employees": EMPLOYEE_STORY}
# A story /insights may show: its teller let it be shown and an organizer approved it.
PUBLIC_STORY = "c.public = 1 AND c.approval = 'approved'"


def voice_of(source: str) -> str:
    return "employees" if source == "employee" else "customers"


@dataclass
class Pass:
    """What one pass did: stories read, stories placed in themes, themes found, public names
    read again, and its wall-clock seconds."""

    read: int = 0
    placed: int = 0
    new_themes: list[int] = field(default_factory=list)
    public_labels: int = 0
    seconds: float = 0.0


def refresh(db: Database) -> Pass:
    """One pass over every event: read what is queued, place what waits, name what changed."""
    started = time.perf_counter()
    done = Pass()
    while True:
        n = read_queued(db)
        done.read += n
        if n < QUEUE_BATCH:
            break
    for event_id, voice in _waiting_groups(db):
        placed, new = place(db, event_id, voice)
        done.placed += placed
        done.new_themes += new
    done.public_labels = name_in_public(db)
    done.seconds = time.perf_counter() - started
    return done


# ---------------------------------------------------------------- reading


def read_queued(db: Database, limit: int = QUEUE_BATCH) -> int:
    """Read up to `limit` queued stories: language, words (misspellings read as the frequent
    word they are closest to, in that language and voice), terms. Returns how many."""
    queued = dbm.rows(
        db.execute(
            "SELECT q.conversation_id AS id, q.at, c.story, c.source, c.language,"
            " coalesce(l.language, e.language) AS hint FROM theme_queue q"
            " JOIN conversations c ON c.id = q.conversation_id"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " LEFT JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " LEFT JOIN events e ON e.id = l.event_id"
            " ORDER BY q.conversation_id LIMIT ?",
            [limit],
        )
    )
    if not queued:
        return 0
    read: list[tuple[dict, str, str, list[str]]] = []
    for row in queued:
        language = reading.language_of(row["story"] or "", row["language"] or row["hint"])
        voice = voice_of(row["source"])
        read.append((row, voice, language, reading.words(row["story"] or "", language)))
    # Misspellings and stems are worked out before the write (only this task writes the words'
    # counts: the lock beside the database keeps it to one per file).
    known = _vocabulary(db, {(voice, lang) for _, voice, lang, _ in read})
    batch: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for _, voice, lang, words in read:
        batch[(voice, lang)].update(set(words))
    folds = {
        key: grouping.misspellings(
            batch[key],
            {w: known[key].get(w, 0) + batch[key][w] for w in known[key] | batch[key]},
        )
        for key in batch
    }
    stored: list[tuple[dict, str, str, list[str], list[str]]] = []
    for row, voice, lang, words in read:
        folded = list(dict.fromkeys(folds[(voice, lang)].get(w, w) for w in words))
        stored.append((row, voice, lang, folded, sorted({reading.stem(w, lang) for w in folded})))
    with dbm.write(db):
        now = dbm.utcnow()
        for row, voice, lang, folded, terms in stored:
            old = db.execute(
                "SELECT language, words FROM theme_stories WHERE conversation_id = ?", [row["id"]]
            ).fetchone()
            if old is not None:
                _count_words(db, voice, old[0], json.loads(old[1]), -1)
            db.execute(
                "INSERT INTO theme_stories (conversation_id, language, words, terms, read_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE SET"
                " language = excluded.language, words = excluded.words, terms = excluded.terms,"
                " read_at = excluded.read_at, tried_at = NULL",
                [row["id"], lang, _dumps(folded), _dumps(terms), now],
            )
            _count_words(db, voice, lang, folded, +1)
            # Only this version: an edit queued meanwhile is read by the next pass.
            db.execute(
                "DELETE FROM theme_queue WHERE conversation_id = ? AND at = ?",
                [row["id"], row["at"]],
            )
    return len(queued)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _vocabulary(
    db: Database, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Counter[str]]:
    """{(voice, language): {word: stories using it}} as stored."""
    found: dict[tuple[str, str], Counter[str]] = {}
    for voice, lang in keys:
        found[(voice, lang)] = Counter(
            dict(
                db.execute(
                    "SELECT word, stories FROM theme_words WHERE voice = ? AND language = ?"
                    " AND stories > 0",
                    [voice, lang],
                ).fetchall()
            )
        )
    return found


def _count_words(db: Database, voice: str, lang: str, words: Iterable[str], sign: int) -> None:
    for word in set(words):
        db.execute(
            "INSERT INTO theme_words (voice, language, word, stories) VALUES (?, ?, ?, max(?, 0))"
            " ON CONFLICT (voice, language, word) DO UPDATE SET stories = max(stories + ?, 0)",
            [voice, lang, word, sign, sign],
        )


# ---------------------------------------------------------------- placing


def _waiting_groups(db: Database) -> list[tuple[int, str]]:
    """(event id, voice) of every group that has a qualifying story waiting for a theme that no
    pass has tried yet (the stories tried before wait for the next new one: each pass over a
    whole event costs a fraction of a second at 10,000 stories, and nothing changed for them)."""
    found = []
    for voice, rule in VOICE_STORY.items():
        for (event_id,) in db.execute(
            "SELECT DISTINCT l.event_id FROM theme_stories t INDEXED BY theme_stories_waiting"
            " JOIN conversations c ON c.id = t.conversation_id"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            f" WHERE t.theme_id IS NULL AND t.placed_by IS NULL AND t.tried_at IS NULL AND {rule}"
        ):
            found.append((int(event_id), voice))
    return found


def _stories(db: Database, event_id: int, voice: str) -> list[dict]:
    """Every read story of the event and voice, qualifying now or not (each one's terms weigh
    in what is rare), with its theme and whether it waits."""
    return dbm.rows(
        db.execute(
            "SELECT t.conversation_id AS id, t.language, t.terms, t.theme_id, t.placed_by,"
            f" ({VOICE_STORY[voice]}) AS qualifies, c.story"
            " FROM theme_stories t JOIN conversations c ON c.id = t.conversation_id"
            " LEFT JOIN stations s ON s.id = c.station_id"
            " JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            " WHERE l.event_id = ? AND (c.source = 'employee') = ?"
            " ORDER BY t.conversation_id",
            [event_id, voice == "employees"],
        )
    )


def place(db: Database, event_id: int, voice: str) -> tuple[int, list[int]]:
    """Place the event's waiting stories of one voice: each joins the closest theme (close
    enough), and the rest are grouped into new themes where enough of them are alike.
    Returns (stories placed, ids of the new themes)."""
    stories = _stories(db, event_id, voice)
    for s in stories:
        s["terms"] = json.loads(s["terms"])
    weights = grouping.idf(Counter(t for s in stories for t in s["terms"]), len(stories))
    vectors = {s["id"]: grouping.vector(s["terms"], weights) for s in stories}
    by_id = {s["id"]: s for s in stories}
    live = {
        int(r[0]): int(r[1]) if r[1] is not None else int(r[0])
        for r in db.execute(
            "SELECT id, merged_into FROM themes WHERE event_id = ? AND voice = ?",
            [event_id, voice],
        )
    }
    members: dict[int, list[int]] = defaultdict(list)
    for s in stories:
        if s["theme_id"] is not None:
            members[_final(live, s["theme_id"])].append(s["id"])
    centroids = {
        theme: grouping.centroid(vectors[i] for i in ids) for theme, ids in members.items()
    }
    waiting = [
        s["id"]
        for s in stories
        if s["theme_id"] is None and s["placed_by"] is None and s["qualifies"] and vectors[s["id"]]
    ]
    placement: dict[int, int] = {}
    pool: list[int] = []
    for story in waiting:
        theme = grouping.closest(vectors[story], centroids)
        if theme is None:
            pool.append(story)
        else:
            placement[story] = theme
    new_groups: list[list[int]] = []
    while pool:
        chunk, pool = pool[-grouping.CHUNK :], pool[: -grouping.CHUNK]
        groups = grouping.cluster([vectors[i] for i in chunk])
        found = []
        for g in groups:
            group = [chunk[i] for i in g]
            # A group as a whole may be what an existing theme is about, though none of its
            # stories was close enough alone: it joins that theme rather than doubling it.
            theme = grouping.closest(grouping.centroid(vectors[i] for i in group), centroids)
            if theme is None:
                found.append(group)
            else:
                placement.update(dict.fromkeys(group, theme))
        new_groups += found
        if found and pool:  # the older rest may belong to what this chunk found
            fresh = {k: grouping.centroid(vectors[i] for i in g) for k, g in enumerate(found)}
            rest = []
            for story in pool:
                k = grouping.closest(vectors[story], fresh)
                if k is None:
                    rest.append(story)
                else:
                    found[k].append(story)
            pool = rest
    # Named before the write: reading key phrases takes milliseconds a theme, and no writer
    # (a check-in) should wait for it.
    named = [
        _label([by_id[i] for i in g], list(grouping.centroid((vectors[i] for i in g), keep=2)))
        for g in new_groups
    ]
    new_ids: list[int] = []
    with dbm.write(db):
        now = dbm.utcnow()
        for group, (language, label) in zip(new_groups, named, strict=True):
            theme_id = int(
                db.execute(
                    "INSERT INTO themes (label, machine_label, created_at, event_id, voice,"
                    " language) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    [label, label, now, event_id, voice, language],
                ).fetchone()[0]
            )
            new_ids.append(theme_id)
            for story in group:
                placement[story] = theme_id
        db.execute(
            "UPDATE theme_stories SET tried_at = ? WHERE conversation_id IN"
            " (SELECT value FROM json_each(?))",
            [now, _dumps([s for s in waiting if s not in placement])],
        )
        placed = 0
        for story, theme_id in placement.items():
            # A story an organizer moved meanwhile stays where they put it.
            placed += db.execute(
                "UPDATE theme_stories SET theme_id = ?, placed_at = ? WHERE conversation_id = ?"
                " AND theme_id IS NULL AND placed_by IS NULL",
                [theme_id, now, story],
            ).rowcount
    return placed, new_ids


def _final(live: dict[int, int], theme_id: int) -> int:
    """The theme a (possibly merged) theme's stories now belong to."""
    seen = set()
    while live.get(theme_id, theme_id) != theme_id and theme_id not in seen:
        seen.add(theme_id)
        theme_id = live[theme_id]
    return theme_id


def _label(stories: list[dict], top_terms: list[str]) -> tuple[str, str]:
    """(the language most of them are told in, a readable name): of the key phrases of the
    newest LABEL_STORIES of them in that language, the best that holds the theme's heaviest
    term (else its next), else that term as most of them write it."""
    language = Counter(s["language"] for s in stories).most_common(1)[0][0]
    texts = [s["story"] for s in stories if s["language"] == language][-LABEL_STORIES:]
    phrases = reading.key_phrases(texts, language, top=12)
    for term in top_terms:
        for phrase in phrases:
            if term in {reading.stem(w, language) for w in reading.words(phrase, language)}:
                return language, _tidy(phrase)
    for term in top_terms:
        spelled = Counter(
            w
            for t in texts
            for w in reading.words(t, language)
            if reading.stem(w, language) == term
        )
        if spelled:
            return language, _tidy(spelled.most_common(1)[0][0])
    return language, _tidy(phrases[0] if phrases else texts[0])


def _tidy(phrase: str) -> str:
    text = " ".join(phrase.split())[:LABEL_CHARS]
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- public names


def name_in_public(db: Database) -> int:
    """Read again the public name of each theme whose approved public stories changed; returns
    how many were read. A theme with none gets none."""
    themes = dbm.rows(
        db.execute(
            "SELECT id, language, public_from, public_label FROM themes WHERE merged_into IS NULL"
        )
    )
    changed: list[tuple[int, str | None, str]] = []
    for theme in themes:
        public = dbm.rows(
            db.execute(
                "SELECT c.id, c.story, t.language FROM theme_stories t JOIN conversations c"
                " ON c.id = t.conversation_id"
                f" WHERE t.theme_id = ? AND {PUBLIC_STORY} AND c.voided_at IS NULL"
                " AND c.held_from IS NULL AND c.rehearsal = 0 ORDER BY c.id",
                [theme["id"]],
            )
        )[-LABEL_STORIES:]
        # Which stories, and their words as they are now (an edited story is read again).
        ids = sorted([p["id"], zlib.crc32(p["story"].encode())] for p in public)
        if ids == json.loads(theme["public_from"]) and (theme["public_label"] is None) == (not ids):
            continue
        label = None
        if public:
            # The theme's heaviest terms choose among the public stories' own phrases.
            terms: Counter[str] = Counter()
            for (raw,) in db.execute(
                "SELECT terms FROM theme_stories WHERE theme_id = ?", [theme["id"]]
            ):
                terms.update(json.loads(raw))
            label = _label(public, [t for t, _ in terms.most_common(2)])[1]
        changed.append((theme["id"], label, _dumps(ids)))
    if changed:
        with dbm.write(db):
            for theme_id, label, read_from in changed:
                db.execute(
                    "UPDATE themes SET public_label = ?, public_from = ? WHERE id = ?",
                    [label, read_from, theme_id],
                )
    return len(changed)
