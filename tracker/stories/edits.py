"""Changing a conversation after it is stored: its author's edits and PUT by id with revisions,
each edit audited with what changed."""

from __future__ import annotations

from sqlite_utils import Database

from ..contract.requests import ConversationIn
from ..contract.responses import Conversation
from ..store import audit
from ..store import db as dbm
from ..store.db import Row
from .capture_time import editable
from .record import (
    Author,
    ConversationError,
    IdConflict,
    NoLongerEditable,
    NotAuthor,
    approval_after_edit,
    as_record,
    author_fields,
    existing,
    record,
    row_by_uuid,
)
from .text import reference


def edit(
    db: Database,
    event: Row,
    data: ConversationIn,
    author: Author,
    now: str | None = None,
) -> Conversation:
    """The author corrects their own conversation; station, source and times of capture stay.

    Audited with the fields that changed (who edited whose conversation), when anything did.
    """
    uuid = str(data.id)
    now = now or dbm.utcnow()
    with dbm.write(db):
        row = existing(db, uuid, event["id"])
        if not author.owns(row):
            raise NotAuthor("only the station or attendee that recorded it may edit it")
        if not editable(row, now):
            raise NoLongerEditable("conversations can be edited until the end of their day")
        fields = author_fields(db, event, data, author)
        # A follow-up's status only moves forward (set_status): unflagging and flagging again
        # in an edit never reopens one that was acknowledged or done.
        status = row["status"] or ("open" if fields["follow_up"] else None)
        # New words on screens need a new approval wherever the first one was needed, and an
        # organizer's rejection stands through a staff edit.
        approval = approval_after_edit(event, row, fields["story"], fields["public"])
        revision = max(row["revision"], data.revision or row["revision"] + 1)
        db.execute(
            "UPDATE conversations SET attendee_id = :attendee_id, story = :story, nps = :nps,"
            " topics = :topics, follow_up = :follow_up, contact = :contact, owner = :owner,"
            " public = :public, status = :status, approval = :approval, updated_at = :now,"
            " revision = :revision WHERE uuid = :uuid",
            {
                **fields,
                "status": status,
                "approval": approval,
                "now": now,
                "uuid": uuid,
                "revision": revision,
            },
        )
        updated = row_by_uuid(db, uuid)
        assert updated is not None
        _audit_edit(db, event["id"], author, row, updated)
    assert updated is not None
    return as_record(updated)


EDIT_AUDITED = ("attendee_id", "story", "nps", "topics", "follow_up", "contact", "owner", "public")
# Personal or free text: the trail says that it changed, never what it said (an erase must
# leave nothing behind).
EDIT_UNQUOTED = ("story", "contact")


def actor_of(author: Author) -> str:
    """How an author is named in the audit trail."""
    if author.source == "staff":
        return f"staff {author.staff_name or '(no name)'} at station #{author.station_id}"
    return f"attendee #{author.attendee_id}"


def _audit_edit(db: Database, event_id: int, author: Author, before: Row, after: Row) -> None:
    changed = [k for k in EDIT_AUDITED if before[k] != after[k]]
    if not changed:
        return
    original = before["staff_name"] if before["source"] == "staff" else "attendee"
    audit.record(
        db,
        event_id,
        actor_of(author),
        "conversation.edit",
        f"{reference(before['id'])} by {original or '(no name)'}",
        {k: "(changed)" if k in EDIT_UNQUOTED else before[k] for k in changed},
        {k: "(changed)" if k in EDIT_UNQUOTED else after[k] for k in changed},
    )


def put(
    db: Database,
    event: Row,
    data: ConversationIn,
    author: Author,
    now: str | None = None,
) -> tuple[Conversation, str]:
    """Create or replace the conversation at its id (RFC 9110 PUT): ("created" | "replaced" |
    "kept", record).

    New id: stored as `record` would. Known id: only its author may replace it, while it is
    editable (IdConflict, NoLongerEditable otherwise); a version whose `revision` is older than
    the stored one changes nothing ("kept": the stored record comes back), so a retry is
    harmless even after the day ends and a late one never undoes an edit; the stored revision
    again is a retry when it says the same, and an EditConflict (409) when it does not.
    """
    with dbm.write(db):
        existing = row_by_uuid(db, str(data.id))
        if existing is None:
            record_, _ = record(db, event, data, author, now)
            return record_, "created"
        if not author.owns(existing):
            raise IdConflict(f"the id {data.id} already belongs to another conversation")
        # A version not newer than the stored one changes nothing: an older one is a late
        # retry (an edit never comes undone), the same one again a retry; but the stored
        # revision with other words was made from the same version on another device (two
        # tablets, one conversation): a conflict, never silently dropped.
        if data.revision is not None and data.revision <= existing["revision"]:
            same = _same(author_fields(db, event, data, author), existing)
            if data.revision == existing["revision"] and not same:
                raise EditConflict(as_record(existing))
            return as_record(existing), "kept"
        return edit(db, event, data, author, now), "replaced"


class EditConflict(ConversationError):
    """A version made from an older one than the stored: `stored` is what the server holds, so
    the device can show both and let a person keep one or merge (never silently dropped)."""

    def __init__(self, stored: Conversation):
        super().__init__(
            f"this conversation was changed elsewhere (revision {stored['revision']}) since this"
            " version was made: keep one or merge them"
        )
        self.stored = stored


def _same(fields: Row, row: Row) -> bool:
    """Whether a version says what the stored row says (what its author sets)."""
    return all(fields[k] == row[k] for k in fields)
