"""Conversations: stories logged by staff or told by attendees, idempotent by the device's UUID.

The per-station totals are kept by SQLite triggers (see tracker/db.py); nothing here counts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from ..contract.requests import ConversationIn
from ..contract.responses import Conversation
from ..people import attendees
from ..security import normalize_badge
from ..store import db as dbm
from ..store.db import Row
from .capture_time import editable, happened_at, local_day, plausible_capture, utc_bounds
from .text import reference

Source = Literal["staff", "attendee"]


class ConversationError(Exception):
    """Base of every refusal below; the message says what is wrong in words a person can act on."""


class UnknownBadge(ConversationError, LookupError):
    """The attendee badge typed or scanned belongs to nobody at this event."""


class UnknownTopic(ConversationError, ValueError):
    """A topic that the event does not offer."""


class NotCheckedIn(ConversationError, PermissionError):
    """An attendee tried to tell a story at a station they have not checked in at."""


class NotAllowed(ConversationError, ValueError):
    """A field this author may not set (an attendee naming an owner or someone else's badge)."""


class StoryRequired(NotAllowed):
    """A conversation without a story: only staff may save one, and only while the event runs in
    quick mode (badge, score and a topic); attendees always tell a story."""


class NothingToSave(NotAllowed):
    """A quick conversation with no story, no score and no topic would record nothing at all."""


class IdConflict(ConversationError):
    """The UUID is already used by a conversation from another author."""


class NotFound(ConversationError, LookupError):
    """No conversation has that UUID."""


class NotAuthor(ConversationError, PermissionError):
    """Only the author (the same station session, or the same attendee) may edit."""


class NoLongerEditable(ConversationError):
    """A conversation is editable until the end of the location's day on which it was captured."""


@dataclass(frozen=True)
class Author:
    """Who is recording: a station's staff session, or an attendee on their own phone."""

    source: Source
    station_id: int
    staff_name: str | None = None
    attendee_id: int | None = None

    def owns(self, row: Row) -> bool:
        if row["source"] != self.source or row["station_id"] != self.station_id:
            return False
        return self.source == "staff" or row["attendee_id"] == self.attendee_id


_SELECT = """
    SELECT c.*, s.slug AS station_slug, s.name AS station_name, l.slug AS location_slug,
           l.name AS location_name, l.timezone AS location_timezone, l.event_id,
           a.badge AS attendee_badge, a.name AS attendee_name, a.email AS attendee_email,
           a.company AS attendee_company
      FROM conversations c
      JOIN stations s ON s.id = c.station_id
      JOIN locations l ON l.id = s.location_id
      LEFT JOIN attendees a ON a.id = c.attendee_id
"""


def rows_where(db: Database, where: str, params: list[Any] | Row) -> list[Row]:
    return dbm.rows(db.execute(f"{_SELECT} {where}", params))


def row_by_uuid(db: Database, uuid: str) -> Row | None:
    rows = rows_where(db, "WHERE c.uuid = ?", [uuid])
    return rows[0] if rows else None


def existing(db: Database, uuid: object, event_id: int | None = None) -> Row:
    """The conversation (of the event, when given), or NotFound."""
    row = row_by_uuid(db, str(uuid))
    if row is None or (event_id is not None and row["event_id"] != event_id):
        raise NotFound(f"no conversation has the id {uuid}")
    return row


def as_record(row: Row) -> Conversation:
    """The stored conversation as the API returns it (no internal ids, no station code)."""
    return Conversation(
        id=row["uuid"],
        reference=reference(row["id"]),
        source=row["source"],
        station=row["station_slug"],
        station_name=row["station_name"],
        location=row["location_slug"],
        staff_name=row["staff_name"],
        attendee_badge=row["attendee_badge"],
        story=row["story"],
        nps=row["nps"],
        topics=json.loads(row["topics"]),
        follow_up=bool(row["follow_up"]),
        contact=row["contact"],
        owner=row["owner"],
        status=row["status"],
        public=bool(row["public"]),
        approval=row["approval"],
        counted=bool(row["counted"]),
        revision=row["revision"],
        voided=row["voided_at"] is not None,
        editable=editable(row),
        captured_at=row["captured_at"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
    )


def get(db: Database, uuid: str) -> Conversation:
    """One conversation by its UUID, or NotFound."""
    return as_record(existing(db, uuid))


def author_of(db: Database, uuid: str) -> Author:
    """Who recorded a conversation (to decide whether the caller may see or edit it)."""
    row = existing(db, uuid)
    return Author(row["source"], row["station_id"], row["staff_name"], row["attendee_id"])


def get_for(db: Database, uuid: str, author: Author) -> Conversation:
    """One conversation for its author only."""
    row = existing(db, uuid)
    if not author.owns(row):
        raise NotAuthor("only the station or attendee that recorded it may see it")
    return as_record(row)


def _topics(event: Row, topics: list[str]) -> list[str]:
    """The event's own spelling of each topic, once each, in the order given."""
    offered = {t.casefold(): t for t in event["topics"]}
    chosen: list[str] = []
    for topic in topics:
        canonical = offered.get(topic.casefold())
        if canonical is None:
            allowed = ", ".join(event["topics"]) or "none are configured"
            raise UnknownTopic(f"unknown topic {topic!r}; this event's topics: {allowed}")
        if canonical not in chosen:
            chosen.append(canonical)
    return chosen


def _attendee_id(db: Database, event: Row, data: ConversationIn, author: Author) -> int | None:
    badge = (data.attendee_badge or "").strip()
    if author.source == "attendee":
        assert author.attendee_id is not None
        if badge:
            own = db.execute(
                "SELECT badge FROM attendees WHERE id = ?", [author.attendee_id]
            ).fetchone()
            if own is None or normalize_badge(badge) != own[0]:
                raise NotAllowed("attendee_badge must be your own badge code (or left out)")
        if data.owner:
            raise NotAllowed("owner is chosen by staff, not in a story told by an attendee")
        return author.attendee_id
    if not badge:
        return None
    try:
        return int(attendees.by_badge(db, event["id"], badge)["id"])
    except attendees.UnknownAttendee:
        raise UnknownBadge(
            f"no attendee has the badge code {badge!r}; check it on their passport or leave it empty"
        ) from None


def author_fields(db: Database, event: Row, data: ConversationIn, author: Author) -> Row:
    """The columns an author sets (on record and on edit), validated against the event;
    UnknownBadge, UnknownTopic, NotAllowed (StoryRequired, NothingToSave) otherwise.

    The story may be left out (stored as "") only by staff while the event runs in quick mode, and then a
    score or a topic must say something; a story-less conversation is never public (there is
    nothing to show on a screen)."""
    follow_up = bool(data.follow_up)
    story = (data.story or "").strip()
    topics = _topics(event, data.topics)
    if not story:
        if author.source != "staff":
            raise StoryRequired("tell your story: the story is required")
        if not event.get("quick_mode"):
            raise StoryRequired(
                "the story is required (this event is not in quick mode, where badge, score"
                " and a topic are enough)"
            )
        if data.nps is None and not topics:
            raise NothingToSave("give a score or a topic (or the story): nothing would be saved")
    return {
        "attendee_id": _attendee_id(db, event, data, author),
        "story": story,
        "nps": data.nps,
        "topics": json.dumps(topics),
        "follow_up": int(follow_up),
        "contact": (data.contact or None) if follow_up else None,
        "owner": (data.owner or None) if follow_up else None,
        "public": int(bool(data.public) and bool(story)),
    }


def first_approval(event: Row, source: Source) -> str:
    """Where a new story starts on the way to public screens (it shows only if its teller also
    marked it public): a staff-logged story is approved at once, unless the event file says
    `moderation = "all"`; an attendee's story always waits for an organizer."""
    return "approved" if source == "staff" and event.get("moderation") != "all" else "pending"


# The counting rule of stories: every staff-logged one counts; an attendee's own story counts
# once per attendee and station. An attendee voided as a whole: their own story arrives voided,
# with the same mark.
_INSERT = (
    "INSERT INTO conversations (uuid, station_id, source, staff_name, attendee_id,"
    " story, nps, topics, follow_up, contact, owner, status, public, approval,"
    " captured_at, received_at, rehearsal, revision, device_captured_at, updated_at, counted,"
    " voided_at, voided_by, void_reason, void_batch) VALUES (:uuid, :station_id, :source,"
    " :staff_name, :attendee_id, :story, :nps, :topics, :follow_up, :contact,"
    " :owner, :status, :public, :approval, :captured_at, :received_at, :rehearsal,"
    " :revision, :device_at, :updated_at,"
    " :source = 'staff' OR NOT EXISTS (SELECT 1 FROM conversations"
    " WHERE source = 'attendee' AND attendee_id = :attendee_id"
    " AND station_id = :station_id AND counted = 1),"
    " (SELECT voided_at FROM attendees WHERE id = :attendee_id AND :source = 'attendee'),"
    " (SELECT voided_by FROM attendees WHERE id = :attendee_id AND :source = 'attendee'),"
    " (SELECT void_reason FROM attendees WHERE id = :attendee_id AND :source = 'attendee'),"
    " (SELECT void_batch FROM attendees WHERE id = :attendee_id AND :source = 'attendee'))"
)


def insert(db: Database, values: Row) -> None:
    """The one way a conversation row is written, by the counting rule above: a device's here,
    a node's forwarded one on central (node/central.py). `values` holds every named parameter
    of _INSERT (uuid, station_id, source, ..., device_at, updated_at); `approval` comes from
    first_approval. Raises sqlite3.IntegrityError when the id is taken."""
    db.execute(_INSERT, values)


def approval_after_edit(event: Row, stored: Row, story: str, public: int | bool) -> str:
    """A stored story's approval after an edit: new words on screens need a new approval
    wherever the first one was needed, and an organizer's rejection stands through an edit."""
    approval = str(stored["approval"])
    if story != stored["story"] or int(public) != int(stored["public"]):
        approval = first_approval(event, stored["source"])
        if approval == "approved" and stored["approval"] == "rejected":
            approval = "rejected"
    return approval


def record(
    db: Database,
    event: Row,
    data: ConversationIn,
    author: Author,
    now: str | None = None,
    rehearsal: bool = False,
) -> tuple[Conversation, bool]:
    """Store a conversation once; (record, created).

    Sending the same id again by the same author returns the stored record unchanged (a device
    retrying after a lost reply); edits go through `edit`. The same id from another author is an
    IdConflict and stores nothing. A staff conversation always counts; an attendee's own story
    counts only if it is their first at that station (`counted` in the record says which).
    """
    uuid = str(data.id)
    received_at = now or dbm.utcnow()
    with dbm.write(db):
        existing = row_by_uuid(db, uuid)
        if existing is not None:
            if not author.owns(existing):
                raise IdConflict(f"the id {uuid} already belongs to another conversation")
            return as_record(existing), False
        fields = author_fields(db, event, data, author)
        if author.source == "attendee" and not _checked_in(db, author):
            raise NotCheckedIn("check in at this station (scan its QR code) before telling a story")
        device_at = dbm.iso(data.captured_at) if data.captured_at else None
        captured_at = plausible_capture(event, device_at, received_at)
        try:
            insert(
                db,
                {
                    **fields,
                    "uuid": uuid,
                    "station_id": author.station_id,
                    "source": author.source,
                    "staff_name": author.staff_name if author.source == "staff" else None,
                    "status": "open" if fields["follow_up"] else None,
                    "approval": first_approval(event, author.source),
                    "captured_at": captured_at,
                    "received_at": received_at,
                    "rehearsal": int(rehearsal),
                    "revision": data.revision or 1,
                    "device_at": device_at,
                    "updated_at": None,
                },
            )
        except sqlite3.IntegrityError as exc:  # pragma: no cover - the write lock makes this rare
            raise IdConflict(f"the id {uuid} is already used") from exc
        row = row_by_uuid(db, uuid)
    assert row is not None
    return as_record(row), True


def _checked_in(db: Database, author: Author) -> bool:
    """Whether the attendee has a check-in at the station that an organizer has not voided."""
    return (
        db.execute(
            # one probe per partial index (checkins_counted_once, checkins_repeats)
            "SELECT 1 FROM checkins WHERE attendee_id = :a AND station_id = :s AND counted = 1"
            " AND voided_at IS NULL UNION ALL SELECT 1 FROM checkins WHERE attendee_id = :a"
            " AND station_id = :s AND counted = 0 AND voided_at IS NULL LIMIT 1",
            {"a": author.attendee_id, "s": author.station_id},
        ).fetchone()
        is not None
    )


def exists(db: Database, uuid: str) -> bool:
    return db.execute("SELECT 1 FROM conversations WHERE uuid = ?", [uuid]).fetchone() is not None


def for_station(db: Database, station_id: int, timezone: str, day: date | None = None) -> list[Row]:
    """A station's conversations on one local day (today by default), newest first, each with
    whether it may still be edited and its local time."""
    if day is None:
        day = local_day(dbm.utcnow(), timezone)
    start, end = utc_bounds(day, timezone)
    rows = rows_where(
        db,
        "WHERE c.station_id = ? AND c.captured_at >= ? AND c.captured_at < ?"
        " ORDER BY c.captured_at DESC, c.id DESC",
        [station_id, start, end],
    )
    now, zone = dbm.utcnow(), ZoneInfo(timezone)
    return [
        {
            **as_record(r),
            "editable": editable(r, now),
            "local_time": dbm.parse_iso(happened_at(r)).astimezone(zone).strftime("%H:%M"),
            "happened_at": happened_at(r),
        }
        for r in rows
    ]
