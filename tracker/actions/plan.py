"""Actions: what the team will do about a theme, who owns it and by when.

An action answers one theme (`themes.id`, stable for the event's life) and may name the stories
it answers (by their references, T-1042). It has a title (what the team will do), an owner (a
name or an e-mail address), a due day on the event's calendar (YYYY-MM-DD) and a status that
only moves forward, planned -> doing -> done, like a follow-up's. Every change is one row of
`action_events` (who, when, what) and one audit row, in the transaction of the change.

Organizers read them overdue first (not done and due before today, in the event's time zone),
then by due day (undated last), then oldest; the same order goes to the CSV and the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlite_utils import Database

from ..contract.requests import without_controls
from ..contract.sentences import N_, Refusal, Sentence
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from ..stories.text import REFERENCE_BASE, reference

STATUSES = ("planned", "doing", "done")
# Each status's name as the console says it (the msgids of templates/admin/actions.html).
STATUS_NAMES = {"planned": N_("planned"), "doing": N_("doing"), "done": N_("done")}
MAX_TITLE = 300  # characters of what the team will do
MAX_OWNER = 120  # as a follow-up's owner
MAX_NOTE = 2000
MAX_STORIES = 200  # stories linked to one action


class ActionError(Refusal):
    """An action that cannot be saved; the sentence says what is wrong, in an organizer's words."""


class UnknownAction(LookupError):
    """No action of this event has that id."""


class UnknownTheme(ActionError):
    """The theme named does not exist (themes keep their ids, so an old link still works)."""


def subject(action_id: int) -> str:
    """How the audit trail and the pages name an action: A-7."""
    return f"A-{action_id}"


def _clean_title(text: str) -> str:
    title = " ".join(without_controls(text).split())
    if not title:
        raise ActionError(N_("say what the team will do"))
    if len(title) > MAX_TITLE:
        raise ActionError(N_("what the team will do has at most %(max)s characters"), max=MAX_TITLE)
    return title


def _clean_owner(text: str) -> str:
    owner = " ".join(without_controls(text).split())
    if len(owner) > MAX_OWNER:
        raise ActionError(N_("an owner has at most %(max)s characters"), max=MAX_OWNER)
    return owner


def _clean_due(text: str | date | None) -> str | None:
    """A due day as YYYY-MM-DD (the event's calendar), or None for none yet."""
    if text is None or text == "":
        return None
    if isinstance(text, date):
        return text.isoformat()
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ActionError(
            N_("a due day is written YYYY-MM-DD, not %(text)s"), text=repr(text)
        ) from None


_REFERENCE = re.compile(r"^T-?(\d{1,11})$", re.IGNORECASE)


def story_ids(db: Database, event_id: int, references: str | Sequence[str]) -> list[int]:
    """The conversations named by references such as "T-1042, T-1043" (commas, spaces or lines
    between them) or their ids (uuid); ActionError naming the first that is not one of the
    event's customers' stories."""
    words = references.replace(",", " ").split() if isinstance(references, str) else references
    found: list[int] = []
    for word in words:
        match = _REFERENCE.match(word.strip())
        if match:
            row = db.execute(_STORY + " AND c.id = ?", [event_id, int(match[1]) - REFERENCE_BASE])
        else:
            row = db.execute(_STORY + " AND c.uuid = ?", [event_id, word.strip()])
        hit = row.fetchone()
        if hit is None:
            raise ActionError(N_("%(story)s is not a story of this event"), story=word.strip())
        if hit[0] not in found:
            found.append(hit[0])
    if len(found) > MAX_STORIES:
        raise ActionError(N_("an action links at most %(max)s stories"), max=MAX_STORIES)
    return found


_STORY = (
    "SELECT c.id FROM conversations c JOIN stations s ON s.id = c.station_id"
    " JOIN locations l ON l.id = s.location_id WHERE l.event_id = ?"
)


# Each theme id -> the theme that holds its stories now: itself, or the theme it was merged
# into (and so on, a merge of a merge), so an action follows its stories through a merge.
_LIVE = """
    WITH RECURSIVE home(id, at, depth) AS (
        SELECT id, id, 0 FROM themes
        UNION ALL
        SELECT home.id, t.merged_into, home.depth + 1 FROM home JOIN themes t ON t.id = home.at
         WHERE t.merged_into IS NOT NULL AND home.depth < 50
    ), live(id, theme) AS (
        SELECT home.id, home.at FROM home JOIN themes t ON t.id = home.at
         WHERE t.merged_into IS NULL
    )
"""


def theme(db: Database, event_id: int, theme_id: int) -> Row:
    """The theme {"id", "label"} of the event that `theme_id` names (the one it was merged
    into, if it was); UnknownTheme when the event has none with that id."""
    row = dbm.one(
        db.execute(
            f"{_LIVE} SELECT t.id, t.label FROM live JOIN themes t ON t.id = live.theme"
            " WHERE live.id = ? AND t.event_id = ?",
            [theme_id, event_id],
        )
    )
    if row is None:
        raise UnknownTheme(N_("there is no theme %(theme)s"), theme=str(theme_id))
    return row


def _event(db: Database, action_id: int, at: str, actor: str, kind: str, text: str) -> None:
    db.execute(
        "INSERT INTO action_events (action_id, at, actor, kind, text) VALUES (?, ?, ?, ?, ?)",
        [action_id, at, actor, kind, text],
    )


def create(
    db: Database,
    event_id: int,
    theme_id: int | None,
    title: str,
    owner: str = "",
    due_on: str | date | None = None,
    stories: str | Sequence[str] = (),
    actor: str = audit.COMMAND_LINE,
    now: str | None = None,
) -> Row:
    """A new action, planned; returns it as `get` does. Its history starts with "created" and
    the audit trail has `action.create` with what it was made with. ActionError (UnknownTheme)
    for anything that cannot be saved; nothing is stored then."""
    title = _clean_title(title)
    owner = _clean_owner(owner)
    due = _clean_due(due_on)
    at = now or dbm.utcnow()
    with dbm.write(db):
        label = None
        if theme_id is not None:
            found = theme(db, event_id, theme_id)
            theme_id, label = found["id"], found["label"]
        linked = story_ids(db, event_id, stories)
        cur = db.execute(
            "INSERT INTO actions (event_id, theme_id, title, owner, due_on, created_at,"
            " created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, theme_id, title, owner or None, due, at, actor, at],
        )
        action_id = int(cur.lastrowid or 0)
        for conversation_id in linked:
            db.execute(
                "INSERT INTO action_stories (action_id, conversation_id) VALUES (?, ?)",
                [action_id, conversation_id],
            )
        _event(db, action_id, at, actor, "created", title)
        audit.record(
            db,
            event_id,
            actor,
            "action.create",
            subject(action_id),
            None,
            {
                "theme": label,
                "title": title,
                "owner": owner or None,
                "due_on": due,
                "stories": [reference(i) for i in linked],
            },
        )
        return get(db, event_id, action_id)


def _stored(db: Database, event_id: int, action_id: int) -> Row:
    row = dbm.one(
        db.execute("SELECT * FROM actions WHERE id = ? AND event_id = ?", [action_id, event_id])
    )
    if row is None:
        raise UnknownAction(f"there is no action {action_id}")
    return row


def change(
    db: Database,
    event_id: int,
    action_id: int,
    *,
    title: str | None = None,
    owner: str | None = None,
    due_on: str | date | None = None,
    status: str | None = None,
    note: str | None = None,
    actor: str = audit.COMMAND_LINE,
    now: str | None = None,
) -> Row:
    """Change what is given (None leaves it; owner "" gives it to nobody, due_on "" clears the
    day), each change one history row and one audit row (`action.title`, `action.owner`,
    `action.due`, `action.status`, `action.note`); what equals the stored value changes
    nothing. The status only moves forward (planned -> doing -> done). ActionError for what
    cannot be saved (nothing is then stored), UnknownAction for another event's or no action."""
    new: dict[str, Any] = {}
    if title is not None:
        new["title"] = _clean_title(title)
    if owner is not None:
        new["owner"] = _clean_owner(owner) or None
    if due_on is not None:
        new["due_on"] = _clean_due(due_on)
    if status is not None and status not in STATUSES:
        raise ActionError(
            N_("a status is one of %(statuses)s, not %(status)s"),
            statuses=", ".join(STATUSES),
            status=repr(status),
        )
    if note is not None:
        note = without_controls(note).strip()
        if not note:
            raise ActionError(N_("write the note first"))
        if len(note) > MAX_NOTE:
            raise ActionError(N_("a note has at most %(max)s characters"), max=MAX_NOTE)
    at = now or dbm.utcnow()
    with dbm.write(db):
        row = _stored(db, event_id, action_id)
        if status is not None:
            if STATUSES.index(status) < STATUSES.index(row["status"]):
                raise ActionError(
                    N_("an action that is %(status)s cannot go back to %(new)s"),
                    status=Sentence(STATUS_NAMES[row["status"]]),
                    new=Sentence(STATUS_NAMES[status]),
                )
            new["status"] = status
        changed = {k: v for k, v in new.items() if row[k] != v}
        for column, kind in (("title", "title"), ("owner", "owner"), ("due_on", "due"),
                             ("status", "status")):  # fmt: skip
            if column not in changed:
                continue
            _event(db, action_id, at, actor, kind, changed[column] or "")
            audit.record(
                db,
                event_id,
                actor,
                f"action.{kind}",
                subject(action_id),
                {column: row[column]},
                {column: changed[column]},
            )
        if changed:
            sets = ", ".join(f"{column} = :{column}" for column in changed)
            db.execute(
                f"UPDATE actions SET {sets}, updated_at = :at WHERE id = :id",
                {**changed, "at": at, "id": action_id},
            )
        if note:
            _event(db, action_id, at, actor, "note", note)
            audit.record(db, event_id, actor, "action.note", subject(action_id), None, note)
        return get(db, event_id, action_id)


_SELECT = (
    _LIVE
    + """
    SELECT a.id, a.event_id, coalesce(live.theme, a.theme_id) AS theme_id, a.title, a.owner,
           a.due_on, a.status, a.created_at, a.created_by, a.updated_at, t.label AS theme_label,
           (a.status != 'done' AND a.due_on IS NOT NULL AND a.due_on < :today) AS overdue,
           (SELECT count(*) FROM action_stories x WHERE x.action_id = a.id) AS story_count
      FROM actions a LEFT JOIN live ON live.id = a.theme_id
      LEFT JOIN themes t ON t.id = coalesce(live.theme, a.theme_id)
"""
)
_ORDER = " ORDER BY overdue DESC, a.status = 'done', a.due_on IS NULL, a.due_on, a.id"


def _item(row: Row) -> Row:
    row["overdue"] = bool(row["overdue"])
    row["subject"] = subject(row["id"])
    return row


def get(db: Database, event_id: int, action_id: int, today: str | None = None) -> Row:
    """One action with its theme's label, `overdue`, `story_count`, `stories` (references and
    one line of each) and `history` (oldest first); UnknownAction when there is none."""
    row = dbm.one(
        db.execute(
            _SELECT + " WHERE a.id = :id AND a.event_id = :event_id",
            {"id": action_id, "event_id": event_id, "today": today or ""},
        )
    )
    if row is None:
        raise UnknownAction(f"there is no action {action_id}")
    item = _item(row)
    item["history"] = histories(db, [action_id]).get(action_id, [])
    item["stories"] = [
        {"reference": reference(r["id"]), "story": r["story"], "nps": r["nps"]}
        for r in dbm.rows(
            db.execute(
                "SELECT c.id, c.story, c.nps FROM action_stories x"
                " JOIN conversations c ON c.id = x.conversation_id WHERE x.action_id = ?"
                " ORDER BY c.id",
                [action_id],
            )
        )
    ]
    return item


def histories(db: Database, action_ids: list[int]) -> dict[int, list[Row]]:
    """Each action's history, oldest first: [{"at", "actor", "kind", "text"}]."""
    if not action_ids:
        return {}
    marks = ",".join("?" * len(action_ids))
    found: dict[int, list[Row]] = {}
    for row in dbm.rows(
        db.execute(
            f"SELECT action_id, at, actor, kind, text FROM action_events"
            f" WHERE action_id IN ({marks}) ORDER BY id",
            action_ids,
        )
    ):
        found.setdefault(row.pop("action_id"), []).append(row)
    return found


def listing(
    db: Database, event_id: int, today: str, status: str = "", theme_id: int | None = None
) -> Row:
    """The actions page: {"items": [action with "history"], "counts": {"planned", "doing",
    "done", "overdue", "all"}}, overdue first, then by due day (undated last), then oldest.
    `today` is the event's day (YYYY-MM-DD); `status` "" lists those not done, a status name
    only those, "all" everything; `theme_id` narrows to one theme."""
    if status not in ("", "all", *STATUSES):
        raise ActionError(
            N_("a status is one of %(statuses)s or all, not %(status)s"),
            statuses=", ".join(STATUSES),
            status=repr(status),
        )
    where = ["a.event_id = :event_id"]
    params: Row = {"event_id": event_id, "today": today, "theme": theme_id}
    if theme_id is not None:
        where.append("coalesce(live.theme, a.theme_id) = :theme")
    counts = dict.fromkeys((*STATUSES, "overdue", "all"), 0)
    for shown, n, late in db.execute(
        f"{_LIVE} SELECT a.status, count(*), sum(a.status != 'done' AND a.due_on < :today)"
        " FROM actions a LEFT JOIN live ON live.id = a.theme_id"
        f" WHERE {' AND '.join(where)} GROUP BY a.status",
        params,
    ):
        counts[shown] = n
        counts["all"] += n
        counts["overdue"] += late or 0
    if status == "":
        where.append("a.status != 'done'")
    elif status != "all":
        where.append("a.status = :status")
        params["status"] = status
    rows = dbm.rows(db.execute(f"{_SELECT} WHERE {' AND '.join(where)} {_ORDER}", params))
    trail = histories(db, [r["id"] for r in rows])
    items = []
    for row in rows:
        item = _item(row)
        item["history"] = trail.get(row["id"], [])
        items.append(item)
    return {"items": items, "counts": counts}


def by_theme(db: Database, event_id: int, today: str) -> dict[int | None, list[Row]]:
    """Every action of the event under its theme's id (None: no theme), in the page's order:
    what the report shows beside each theme."""
    found: dict[int | None, list[Row]] = {}
    for row in dbm.rows(
        db.execute(
            f"{_SELECT} WHERE a.event_id = :event_id {_ORDER}",
            {"event_id": event_id, "today": today},
        )
    ):
        found.setdefault(row["theme_id"], []).append(_item(row))
    return found


CSV_COLUMNS = (
    "action",
    "theme_id",
    "theme",
    "title",
    "owner",
    "due_on",
    "status",
    "overdue",
    "stories",
    "created_at",
    "created_by",
    "updated_at",
    "history",
)


def csv_rows(db: Database, event_id: int, today: str) -> Iterator[list[Any]]:
    """Every action (all statuses) in the page's order, CSV_COLUMNS first; linked stories as
    references, the history as "at actor: kind text" lines."""
    yield list(CSV_COLUMNS)
    rows = dbm.rows(
        db.execute(
            f"{_SELECT} WHERE a.event_id = :event_id {_ORDER}",
            {"event_id": event_id, "today": today},
        )
    )
    trail = histories(db, [r["id"] for r in rows])
    links: dict[int, list[str]] = {}
    for action_id, conversation_id in db.execute(
        "SELECT x.action_id, x.conversation_id FROM action_stories x JOIN actions a"
        " ON a.id = x.action_id WHERE a.event_id = ? ORDER BY x.conversation_id",
        [event_id],
    ):
        links.setdefault(action_id, []).append(reference(conversation_id))
    for row in rows:
        yield [
            subject(row["id"]),
            row["theme_id"],
            row["theme_label"],
            row["title"],
            row["owner"],
            row["due_on"],
            row["status"],
            "yes" if row["overdue"] else "",
            " ".join(links.get(row["id"], [])),
            row["created_at"],
            row["created_by"],
            row["updated_at"],
            "\n".join(
                f"{e['at']} {e['actor']}: {e['kind']} {e['text']}".rstrip()
                for e in trail.get(row["id"], [])
            ),
        ]
