"""The follow-up queue as organizers work it: overdue first (still open past the event's SLA, in
hours), then the oldest, fifty a page, narrowed by status, owner, location, overdue and a bounded
text search; each follow-up's history; the owners one may choose; and the queue as CSV rows.
The changes themselves (owner, notes, status) are in changes.py, the rules in rules.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from ..contract.sentences import N_
from ..people import organizers
from ..people.profile import is_email
from ..store import db as dbm
from ..store.db import Row
from ..stories.record import as_record
from ..stories.text import REFERENCE_BASE
from .rules import MAX_OWNER, STATUSES, InvalidFollowUp, InvalidTransition

# The status filter: "" is what is still owed (open and acknowledged); "void" the voided ones
# (an organizer took the conversation out of every figure: nothing is owed); "all" is everything.
STATUS_FILTERS = ("", *STATUSES, "void", "all")
PAGE_SIZE = 50
MAX_SEARCH = 100  # characters of a search; longer is refused


@dataclass(frozen=True)
class Filters:
    """What the queue is narrowed to. `status`: one of STATUS_FILTERS; `location`: a location
    slug; `owner`: a name, any case ("-" is nobody yet); `overdue`: only those past the SLA;
    `q`: text found in the contact, story, owner, attendee's name, e-mail or company, or a
    reference such as T-1042."""

    status: str = ""
    location: str = ""
    owner: str = ""
    overdue: bool = False
    q: str = ""

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Filters:
        """From a query string's values; InvalidFollowUp says what is wrong with one."""
        status = (args.get("status") or "").strip()
        if status not in STATUS_FILTERS:
            raise InvalidFollowUp(
                N_("status is one of %(statuses)s, not %(status)s"),
                statuses=", ".join(s for s in STATUS_FILTERS if s),
                status=repr(status),
            )
        q = (args.get("q") or "").strip()
        if len(q) > MAX_SEARCH:
            raise InvalidFollowUp(N_("a search has at most %(max)s characters"), max=MAX_SEARCH)
        owner = (args.get("owner") or "").strip()
        if len(owner) > MAX_OWNER:
            raise InvalidFollowUp(N_("an owner has at most %(max)s characters"), max=MAX_OWNER)
        return cls(
            status=status,
            location=(args.get("location") or "").strip()[:40],
            owner=owner,
            overdue=(args.get("overdue") or "") in ("1", "on", "true", "yes"),
            q=q,
        )

    def query(self) -> dict[str, str]:
        """The filters as query-string values (only those set), for links that keep them."""
        values = {
            "status": self.status,
            "location": self.location,
            "owner": self.owner,
            "overdue": "1" if self.overdue else "",
            "q": self.q,
        }
        return {k: v for k, v in values.items() if v}


_HAPPENED = "min(c.captured_at, c.received_at)"
_OVERDUE = f"(c.status = 'open' AND c.voided_at IS NULL AND {_HAPPENED} < :cutoff)"
FROM_ = """
      FROM conversations c
      LEFT JOIN stations s ON s.id = c.station_id
      JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)
      LEFT JOIN attendees a ON a.id = c.attendee_id
"""
SELECT = f"""
    SELECT c.*, s.slug AS station_slug, s.name AS station_name, l.slug AS location_slug,
           l.name AS location_name, l.timezone AS location_timezone, l.event_id,
           a.badge AS attendee_badge, a.name AS attendee_name, a.email AS attendee_email,
           a.company AS attendee_company, {_HAPPENED} AS happened_at, {_OVERDUE} AS is_overdue,
           (SELECT e.at || ' ' || e.actor FROM follow_up_events e WHERE e.conversation_id = c.id
              AND e.kind = 'status' AND e.text = 'acknowledged' ORDER BY e.id DESC LIMIT 1)
             AS acknowledged,
           (SELECT e.at || ' ' || e.actor FROM follow_up_events e WHERE e.conversation_id = c.id
              AND e.kind = 'status' AND e.text = 'done' ORDER BY e.id DESC LIMIT 1) AS done
    {FROM_}
"""
_ORDER = f" ORDER BY {_OVERDUE} DESC, {_HAPPENED}, c.id"


def _cutoff(now: str, sla_hours: float | None) -> str:
    """The moment before which an open follow-up is overdue ("" when there is no SLA: none is)."""
    if sla_hours is None:
        return ""
    return dbm.iso(dbm.parse_iso(now) - timedelta(hours=sla_hours))


def _where(
    event_id: int, filters: Filters, cutoff: str, with_status: bool = True
) -> tuple[str, Row]:
    where = ["c.follow_up = 1", "l.event_id = :event_id"]
    params: Row = {"event_id": event_id, "cutoff": cutoff}
    if with_status:
        if filters.status == "":
            where.append("c.status IN ('open', 'acknowledged') AND c.voided_at IS NULL")
        elif filters.status in STATUSES:
            where.append("c.status = :status AND c.voided_at IS NULL")
            params["status"] = filters.status
        elif filters.status == "void":
            where.append("c.voided_at IS NOT NULL")
        if filters.overdue:
            where.append(_OVERDUE)
    if filters.location:
        where.append("l.slug = :location")
        params["location"] = filters.location
    if filters.owner == "-":
        where.append("coalesce(c.owner, '') = ''")
    elif filters.owner:
        where.append("c.owner = :owner COLLATE NOCASE")
        params["owner"] = filters.owner
    if filters.q:
        fields = ("c.contact", "c.story", "c.owner", "a.name", "a.email", "a.company")
        found = [f"{f} LIKE :q ESCAPE '\\'" for f in fields]
        params["q"] = dbm.like_anywhere(filters.q)
        ref = filters.q.upper().removeprefix("T-").removeprefix("T")
        if ref.isdigit() and len(ref) < 12:
            found.append("c.id = :ref_id")
            params["ref_id"] = int(ref) - REFERENCE_BASE
        where.append("(" + " OR ".join(found) + ")")
    return "WHERE " + " AND ".join(where), params


_PHONE = re.compile(r"^\+?[\d\s().-]{6,30}$")


def contact_href(text: str | None) -> str | None:
    """A mailto: or tel: link for a contact that is an e-mail address or a phone number, else
    None (free text such as "ask at the desk" stays text)."""
    value = (text or "").strip()
    if is_email(value):
        return "mailto:" + value
    if _PHONE.match(value) and sum(ch.isdigit() for ch in value) >= 6:
        return "tel:" + re.sub(r"[^\d+]", "", value)
    return None


def _item(row: Row, now: str, sla_hours: float | None) -> Row:
    age = max(0.0, (dbm.parse_iso(now) - dbm.parse_iso(row["happened_at"])).total_seconds() / 3600)
    item: Row = {
        **as_record(row),
        "location_name": row["location_name"],
        "location_timezone": row["location_timezone"],
        "attendee_name": row["attendee_name"],
        "attendee_email": row["attendee_email"],
        "attendee_company": row["attendee_company"],
        "happened_at": row["happened_at"],
        "age_hours": round(age, 1),
        "voided": row["voided_at"] is not None,
    }
    for status in ("acknowledged", "done"):
        at, _, actor = (row[status] or "").partition(" ")
        item[f"{status}_at"], item[f"{status}_by"] = (at or None), (actor or None)
    if sla_hours is not None:
        item["overdue"] = bool(row["is_overdue"])
    return item


def follow_ups(
    db: Database,
    event_id: int,
    status: str | None = None,
    location: str | None = None,
    owner: str | None = None,
    now: str | None = None,
    sla_hours: float | None = None,
) -> list[Row]:
    """Every follow-up that matches, overdue first, then oldest, each with its age in hours.

    status None lists the outstanding ones (open and acknowledged); a status name lists only
    that status. location is a location slug; owner matches case-insensitively. With sla_hours
    each item says whether it is overdue (still open past the SLA). InvalidTransition for an
    unknown status.
    """
    if status is not None and status not in STATUSES:
        raise InvalidTransition(
            N_("status is one of %(statuses)s, not %(status)s"),
            statuses=", ".join(STATUSES),
            status=repr(status),
        )
    filters = Filters(status=status or "", location=location or "", owner=(owner or "").strip())
    now = now or dbm.utcnow()
    where, params = _where(event_id, filters, _cutoff(now, sla_hours))
    rows = dbm.rows(db.execute(SELECT + where + _ORDER, params))
    return [_item(row, now, sla_hours) for row in rows]


def queue(
    db: Database,
    event_id: int,
    filters: Filters,
    sla_hours: float,
    page: int = 1,
    now: str | None = None,
) -> Row:
    """One page of the queue as the console shows it.

    Returns {"items": [follow-up with "history": [{"at", "actor", "kind", "text"}]],
    "total": matches, "pages": at least 1, "page", "counts": {"open", "acknowledged", "done",
    "void", "overdue", "all"}} where the counts follow every filter but status and overdue; a
    voided follow-up counts as "void" only, never as owed or overdue.
    """
    now = now or dbm.utcnow()
    cutoff = _cutoff(now, sla_hours)
    where, params = _where(event_id, filters, cutoff)
    total = db.execute(f"SELECT count(*) {FROM_} {where}", params).fetchone()[0]
    pages = dbm.page_count(total, PAGE_SIZE)
    page = min(max(1, page), pages)
    rows = dbm.rows(
        db.execute(
            f"{SELECT} {where} {_ORDER} LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}",
            params,
        )
    )
    items = [_item(row, now, sla_hours) for row in rows]
    trail = histories(db, [row["id"] for row in rows])
    for row, item in zip(rows, items, strict=True):
        item["history"] = trail.get(row["id"], [])
    every, every_params = _where(event_id, filters, cutoff, with_status=False)
    counts = dict.fromkeys((*STATUSES, "void", "overdue", "all"), 0)
    for status, n, late in db.execute(
        f"SELECT CASE WHEN c.voided_at IS NULL THEN c.status ELSE 'void' END AS shown,"
        f" count(*), sum({_OVERDUE}) {FROM_} {every} GROUP BY shown",
        every_params,
    ):
        if status in counts:
            counts[status] = n
        counts["all"] += n
        counts["overdue"] += late or 0
    return {"items": items, "total": total, "pages": pages, "page": page, "counts": counts}


def histories(db: Database, conversation_ids: list[int]) -> dict[int, list[Row]]:
    """The history of each follow-up (conversations.id -> its events, oldest first)."""
    if not conversation_ids:
        return {}
    marks = ",".join("?" * len(conversation_ids))
    result: dict[int, list[Row]] = {}
    for row in dbm.rows(
        db.execute(
            "SELECT conversation_id, at, actor, kind, text FROM follow_up_events"
            f" WHERE conversation_id IN ({marks}) ORDER BY id",
            conversation_ids,
        )
    ):
        result.setdefault(row.pop("conversation_id"), []).append(row)
    return result


def known_owners(db: Database, event_id: int, limit: int = 200) -> list[str]:
    """Names to offer as owners: the organizers, then staff names seen in the event's
    conversations and owners already given, each once (any case), sorted."""
    seen: dict[str, str] = {}
    names = list(organizers.names(db))
    names += [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT name FROM ("
            " SELECT c.staff_name AS name FROM conversations c"
            "  JOIN stations s ON s.id = c.station_id JOIN locations l ON l.id = s.location_id"
            "  WHERE l.event_id = :event_id AND c.staff_name IS NOT NULL"
            " UNION SELECT c.owner FROM conversations c"
            "  LEFT JOIN stations s ON s.id = c.station_id"
            "  JOIN locations l ON l.id = coalesce(s.location_id, c.location_id)"
            "  WHERE l.event_id = :event_id AND c.follow_up = 1 AND c.owner IS NOT NULL"
            f") LIMIT {int(limit)}",
            {"event_id": event_id},
        )
    ]
    for name in names:
        clean = " ".join(str(name).split())
        if clean:
            seen.setdefault(clean.casefold(), clean)
    return sorted(seen.values(), key=str.casefold)


CSV_COLUMNS = (
    "reference",
    "happened_at",
    "age_hours",
    "overdue",
    "status",
    "owner",
    "contact",
    "attendee_name",
    "attendee_email",
    "attendee_company",
    "location",
    "station",
    "nps",
    "story",
    "acknowledged_at",
    "acknowledged_by",
    "done_at",
    "done_by",
    "notes",
)


def csv_rows(
    db: Database,
    event_id: int,
    filters: Filters,
    sla_hours: float,
    now: str | None = None,
    batch: int = 200,
) -> Iterator[list[Any]]:
    """Every follow-up that matches the filters (no paging), CSV_COLUMNS first, a list a row;
    notes as "at actor: text" lines. Reads in batches of `batch` so a long list streams."""
    now = now or dbm.utcnow()
    where, params = _where(event_id, filters, _cutoff(now, sla_hours))
    yield list(CSV_COLUMNS)
    offset = 0
    while True:
        rows = dbm.rows(
            db.execute(f"{SELECT} {where} {_ORDER} LIMIT {batch} OFFSET {offset}", params)
        )
        if not rows:
            return
        trail = histories(db, [row["id"] for row in rows])
        for row in rows:
            item = _item(row, now, sla_hours)
            notes = "\n".join(
                f"{e['at']} {e['actor']}: {e['text']}"
                for e in trail.get(row["id"], [])
                if e["kind"] == "note"
            )
            yield [
                item["reference"],
                item["happened_at"],
                item["age_hours"],
                "yes" if item.get("overdue") else "",
                "void" if item["voided"] else item["status"],
                item["owner"],
                item["contact"],
                item["attendee_name"],
                item["attendee_email"],
                item["attendee_company"],
                item["location_name"],
                item["station_name"],
                item["nps"],
                item["story"],
                item["acknowledged_at"],
                item["acknowledged_by"],
                item["done_at"],
                item["done_by"],
                notes,
            ]
        offset += batch
        dbm.cooperate()
