"""The wire format between a location node and central, in one place and versioned.

Every call a node makes carries `X-Tracker-Protocol: PROTOCOL`; central answers any other
version 409 `upgrade_required`, so a node and a central of different releases never half
understand each other. Central writes the setup and the change feed (central.py); the node reads
them (pull.py) and forwards its records (forward.py), which central validates here as strictly
as the public API validates a phone's: a record that breaks a rule is refused with a reason
code, never stored.

Who owns which field (an edit on one side never overwrites the other side's field):
- device-owned, as staff or the attendee typed them wherever they were: a conversation's story,
  score, topics, follow-up flag, contact, public mark, staff name, capture time and the language
  an attendee's phone told the story in (kept once, as on central's own route); an
  attendee's name, e-mail, company and consent (clearing them at a node erases them on central);
- central-owned, as central's rules or organizers decide: whether a record counts, a story's
  approval, voids, a follow-up's owner and status, an erasure, and the rows a rehearsal clear
  removes. A node's values for these are ignored; central's come back through the feed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

# A node's texts follow the public API's rules (lengths, no control characters).
from ..contract.requests import Short as Text
from ..contract.requests import Story, Topic

PROTOCOL = 2  # 1: id cursors and whole-batch answers (before schema 7); 2: the change feed

# Headers of every call a node makes.
PROTOCOL_HEADER = "X-Tracker-Protocol"
FILE_HEADER = "X-Node-File"  # the random id the node's database file was born with
FORWARDED_HEADER = "X-Node-Forwarded"  # how many records central has acknowledged to this file
WAITING_HEADER = "X-Node-Waiting"
OLDEST_HEADER = "X-Node-Oldest-Seconds"
PARKED_HEADER = "X-Node-Parked"
OFFSET_HEADER = "X-Node-Clock-Offset"  # seconds to add to the node's clock to get central's
# "<process>.<n>": the node process's n-th call, numbered as it read its FORWARDED_HEADER count.
# Optional: a node that does not send it is held to its count alone.
REPORT_HEADER = "X-Node-Report"


def report_of(text: str | None) -> tuple[str, int] | None:
    """REPORT_HEADER's (process, number); None when absent or not of that shape."""
    process, dot, number = (text or "").strip().rpartition(".")
    if (
        not dot
        or not process
        or len(process) > 64
        or not (number.isascii() and number.isdigit())
        or len(number) > 18
    ):
        return None
    return process, int(number)


MAX_RECORDS = 500  # one batch at most; a node sends 200
CHANGES_PER_PULL = 2000  # changes of the feed looked at per pull
FUTURE_SKEW = timedelta(minutes=5)  # a corrected time later than central's now + this is refused

EVENT_COLUMNS = (
    "id", "slug", "name", "goal", "timezone", "starts_at", "ends_at", "counts", "topics",
    "created_at", "moderation", "language",
)  # fmt: skip
LOCATION_COLUMNS = (
    "id", "event_id", "slug", "name", "city", "country", "timezone", "active", "closed_at",
    "language",
)  # fmt: skip
STATION_COLUMNS = (
    "id", "location_id", "slug", "name", "kind", "code", "pin_hash", "active", "closed_at",
    "short_code",
)  # fmt: skip
# What travels of a conversation, both ways.
CONVERSATION_FIELDS = (
    "source", "staff_name", "story", "nps", "topics", "follow_up", "contact", "owner", "status",
    "public", "captured_at", "received_at", "updated_at", "revision", "device_captured_at",
)  # fmt: skip
# Of those, what a node's edit may change on central (the device-owned fields).
DEVICE_FIELDS = (
    "staff_name", "story", "nps", "topics", "follow_up", "contact", "public", "captured_at",
    "device_captured_at",
)  # fmt: skip
# Central-owned fields the change feed brings to a node.
CENTRAL_FIELDS = ("counted", "approval", "voided_at", "held_from", "owner", "status")
# A node's clock is corrected in these fields before they are sent.
TIME_FIELDS = ("created_at", "scanned_at", "received_at", "captured_at", "updated_at")


class Refusal(StrEnum):
    """Why central refused one record (the node parks it with this reason)."""

    invalid_record = "invalid_record"  # breaks a rule of the wire format; detail says which
    wrong_location = "wrong_location"  # a station or location that is not this node's
    id_conflict = "id_conflict"  # the id belongs to another record (another station or person)
    other_event = "other_event"  # an attendee of another event
    clock = "clock"  # a time in the future even after the node's clock offset


def _utc(text: object) -> object:
    """Times are ISO-8601 text with a zone (tracker writes '...Z'); naive ones are refused."""
    if isinstance(text, str):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("a time needs its zone (UTC: Z)")
        return moment.astimezone(UTC)
    raise ValueError("a time is ISO-8601 text")


def _topics(value: object) -> object:
    """Topics travel as the JSON text the database keeps, or as a list."""
    return json.loads(value) if isinstance(value, str) else value


Moment = Annotated[datetime, BeforeValidator(_utc)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\w.-]+$")]
Badge = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Z0-9]+$")]
Flag = Annotated[int, Field(ge=0, le=1)]
LanguageTag = Annotated[str, StringConstraints(max_length=35, pattern=r"^[A-Za-z0-9-]+$")]  # BCP 47
_STRICT = ConfigDict(extra="ignore", frozen=True)


class AttendeeRef(BaseModel):
    model_config = _STRICT
    token: Token
    badge: Badge
    created_at: Moment
    rehearsal: Flag = 0


class AttendeeRecord(AttendeeRef):
    kind: Literal["attendee"]
    name: Text | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    company: Text | None = None
    consent: Flag = 0


class CheckinRecord(BaseModel):
    model_config = _STRICT
    kind: Literal["checkin"]
    uuid: UUID
    station_id: Annotated[int, Field(ge=1)]
    scanned_at: Moment
    received_at: Moment
    rehearsal: Flag = 0
    attendee: AttendeeRef


class ConversationRecord(BaseModel):
    model_config = _STRICT
    kind: Literal["conversation"]
    uuid: UUID
    station_id: Annotated[int, Field(ge=1)] | None = None  # None: an employee's story
    location_id: Annotated[int, Field(ge=1)] | None = None  # an employee's story's location
    source: Literal["staff", "attendee", "employee"]
    staff_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    story: Story
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    topics: Annotated[list[Topic], BeforeValidator(_topics), Field(max_length=12)] = []
    follow_up: Flag = 0
    contact: Text | None = None
    owner: Annotated[str, StringConstraints(max_length=120)] | None = None
    status: Literal["open", "acknowledged", "done"] | None = None
    public: Flag = 0
    captured_at: Moment
    received_at: Moment
    updated_at: Moment | None = None
    revision: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    device_captured_at: Moment | None = None
    rehearsal: Flag = 0
    attendee: AttendeeRef | None = None
    # The language an attendee's phone told the story in (a tag; one central does not speak
    # is ignored): what they hear back is written in it (tracker.actions.heard).
    language: LanguageTag | None = None


def _place_employee(record: ConversationRecord) -> ConversationRecord:
    if (record.source == "employee") != (record.station_id is None):
        raise ValueError("an employee's story has no station; every other story has one")
    if record.source == "employee" and record.location_id is None:
        raise ValueError("an employee's story names its location")
    return record


Record = Annotated[
    AttendeeRecord | CheckinRecord | Annotated[ConversationRecord, AfterValidator(_place_employee)],
    Field(discriminator="kind"),
]
RECORD = TypeAdapter(Record)


def parse_record(raw: object) -> AttendeeRecord | CheckinRecord | ConversationRecord:
    """One forwarded record, validated; pydantic's ValidationError says what is wrong."""
    return RECORD.validate_python(raw)


def problems(exc: Exception) -> str:
    """A refused record's reason in words, without Python's reprs."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
            for e in errors(include_url=False, include_input=False)
        )
    return str(exc)


def shifted(record: dict[str, Any], offset_seconds: float) -> dict[str, Any]:
    """`record` with its times moved by `offset_seconds` (the node's clock to central's)."""
    if not offset_seconds:
        return record
    moved = dict(record)
    for field in TIME_FIELDS:
        if isinstance(moved.get(field), str):
            moment = datetime.fromisoformat(moved[field].replace("Z", "+00:00"))
            moved[field] = _iso(moment + timedelta(seconds=offset_seconds))
    if isinstance(moved.get("attendee"), dict):
        moved["attendee"] = shifted(moved["attendee"], offset_seconds)
    return moved


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
