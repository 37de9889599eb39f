"""What the domain returns and the JSON API answers: one definition per shape.

The domain builds these dicts (mypy holds every literal to its TypedDict: a missing or an extra
key fails the type check), the web layer sends them as they are, and /openapi.json publishes
their JSON schemas through pydantic's TypeAdapter, with `additionalProperties: false`, so a
test validating real answers against the document fails on any field added in one place only.
Request bodies are pydantic models, in tracker/schemas.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,  # pydantic needs this one before Python 3.12
    TypeVar,
    cast,
    get_type_hints,
)

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

# Every shape here is exact: pydantic writes additionalProperties false into its schema.
EXACT = ConfigDict(extra="forbid")

T = TypeVar("T")


def pick(shape: type[T], source: Mapping[str, Any], **given: Any) -> T:
    """The keys of the TypedDict `shape`, in its order: from `given` where given, else from
    `source` (a row, or a wider shape). A key neither has raises KeyError."""
    keys = _keys(cast(Any, shape))
    return cast(T, {key: given[key] if key in given else source[key] for key in keys})


@cache
def _keys(shape: Any) -> tuple[str, ...]:
    return tuple(get_type_hints(shape))


@with_config(EXACT)
class StationRef(TypedDict):
    slug: str
    name: str
    location: Annotated[str, Field(description="the location's name")]
    location_slug: str


@with_config(EXACT)
class Checkin(TypedDict):
    id: Annotated[str, Field(description="the check-in's UUID (client-made or the server's)")]
    station: StationRef
    counted: Annotated[bool, Field(description="true only for the attendee's first check-in here")]
    scanned_at: str
    received_at: str


@with_config(EXACT)
class PassportStation(TypedDict):
    slug: str
    name: str
    location: str
    location_slug: str
    first_at: str
    visits: int


@with_config(EXACT)
class Passport(TypedDict):
    badge: Annotated[
        str, Field(description="short code staff type or scan to tie a story to this person")
    ]
    name: str | None
    visited: int
    stations: list[PassportStation]
    stories: Annotated[int, Field(description="stories this attendee told on their own phone")]


@with_config(EXACT)
class Progress(TypedDict):
    total: Annotated[int, Field(description="engagements counted toward the goal")]
    goal: int
    checkins: int
    conversations: int
    percent: Annotated[float, Field(description="total / goal in percent, one decimal")]


@with_config(EXACT)
class CheckinOut(TypedDict):
    """The answer to POST /api/checkins."""

    checkin: Checkin
    counted: bool
    passport: Passport
    progress: Progress


@with_config(EXACT)
class Conversation(TypedDict):
    """A stored conversation as its author sees it: no internal ids, no station code."""

    id: str
    reference: Annotated[str, Field(description='short reference for the customer, e.g. "T-1042"')]
    source: Literal["staff", "attendee"]
    station: str
    station_name: str
    location: str
    staff_name: str | None
    attendee_badge: str | None
    story: str
    nps: int | None
    topics: list[str]
    follow_up: bool
    contact: str | None
    owner: str | None
    status: Annotated[
        Literal["open", "acknowledged", "done"] | None,
        Field(description="of the follow-up; null when none is owed"),
    ]
    public: Annotated[bool, Field(description="the teller allows it on public screens")]
    approval: Annotated[
        Literal["pending", "approved", "rejected"],
        Field(description="by an organizer: a story shows on screens when public and approved"),
    ]
    counted: Annotated[
        bool,
        Field(
            description="adds to the goal and the NPS: every staff conversation, an attendee's"
            " first story at a station"
        ),
    ]
    revision: Annotated[int, Field(description="the stored version of the record")]
    voided: bool
    editable: Annotated[
        bool, Field(description="its author may still change it (until the end of its local day)")
    ]
    captured_at: str
    received_at: str
    updated_at: str | None


@with_config(EXACT)
class Nps(TypedDict):
    score: Annotated[
        int | None, Field(description="% promoters - % detractors; null before the first score")
    ]
    promoters: Annotated[int, Field(description="answers of 9-10")]
    passives: Annotated[int, Field(description="answers of 7-8")]
    detractors: Annotated[int, Field(description="answers of 0-6")]
    responses: int


@with_config(EXACT)
class StationTotals(TypedDict):
    slug: str
    name: str
    kind: str
    total: int
    checkins: int
    conversations: int


@with_config(EXACT)
class LocationTotals(TypedDict):
    slug: str
    name: str
    city: str
    country: str
    timezone: Annotated[str, Field(description="IANA time zone, e.g. Asia/Kolkata")]
    active: bool
    total: int
    checkins: int
    conversations: int
    nps: Nps
    stations: list[StationTotals]


@with_config(EXACT)
class Leader(StationTotals):
    location: str
    location_slug: str


@with_config(EXACT)
class Milestone(TypedDict):
    percent: int
    value: int
    reached: bool


@with_config(EXACT)
class Hour(TypedDict):
    hour: Annotated[
        str,
        Field(
            description="the start of an hour of the screen's local clock, in UTC"
            " (e.g. 2026-05-14T03:30:00Z: 09:00 in Bengaluru)"
        ),
    ]
    checkins: int
    conversations: int
    total: int


@with_config(EXACT)
class Story(TypedDict):
    story: Annotated[str, Field(description="plain text, at most 240 characters")]
    station: str
    location: str
    location_slug: str
    at: str
    nps: int | None


@with_config(EXACT)
class EmployeeStory(TypedDict):
    """An approved public employee's story ("You Define TCE"): plain text, no personal data."""

    story: Annotated[str, Field(description="plain text, at most 240 characters")]
    location: str
    location_slug: str
    at: str


@with_config(EXACT)
class Employees(TypedDict):
    """Employees' stories on a screen (?employees=1): never part of the customers' figures."""

    count: Annotated[int, Field(description="employees' stories told, voided ones left out")]
    recent: list[EmployeeStory]


@with_config(EXACT)
class EventRef(TypedDict):
    slug: str
    name: str
    goal: int
    timezone: str
    counts: Annotated[
        list[str], Field(description='what adds to the total: "checkins", "conversations"')
    ]


@with_config(EXACT)
class EventFigures(TypedDict):
    """The event-wide part of every snapshot, computed once for all screens."""

    event: EventRef
    total: int
    checkins: int
    conversations: int
    percent: float
    goal_reached: bool
    nps: Nps
    milestones: list[int]
    milestone_marks: list[Milestone]
    locations: list[LocationTotals]
    leaderboard: list[Leader]
    last_activity_at: str | None


@with_config(EXACT)
class Scoreboard(EventFigures):
    """The snapshot big screens show; station codes never appear in it."""

    location: Annotated[
        LocationTotals | None, Field(description="the screen's location; null: the whole event")
    ]
    hours: list[Hour]
    recent: list[Story]
    updated_at: str
    as_of: Annotated[
        str | None,
        Field(
            description="on a location node: when central made the event-wide figures, which"
            " the node shows until its link brings newer ones; null on central"
        ),
    ]
    employees: Employees


@with_config(EXACT)
class Backlog(TypedDict):
    """A node's records not yet acknowledged by central."""

    waiting: int
    oldest_seconds: Annotated[float, Field(description="age of the oldest waiting record")]


@with_config(EXACT)
class NodeLink(TypedDict):
    state: Annotated[
        Literal["starting", "up", "down", "refused"],
        Field(
            description="the node's link to central: down while unreachable, refused once revoked"
        ),
    ]
    pulled_seconds_ago: Annotated[
        float | None, Field(description="since the last pull from central (null: never)")
    ]
    error: str | None


@with_config(EXACT)
class Health(TypedDict):
    status: Literal["ok", "error"]
    schema_version: int
    database: Annotated[str, Field(description='"ok", or what is wrong with it')]
    forward: NotRequired[Annotated[Backlog, Field(description="on a location node only")]]
    link: NotRequired[Annotated[NodeLink, Field(description="on a location node only")]]


@with_config(EXACT)
class Badge(TypedDict):
    """A badge code that belongs to an attendee of the event (GET /api/badges/<badge>)."""

    badge: str


class ErrorCode(StrEnum):
    """Every `error` code of the JSON API, with its HTTP status; /openapi.json lists them."""

    invalid_body = "invalid_body"  # 400: not JSON, or breaks a rule; detail lists each field
    invalid_id = "invalid_id"  # 400: the id in the URL is not a UUID
    id_mismatch = "id_mismatch"  # 400: the body's id is not the URL's
    not_a_badge = "not_a_badge"  # 400: not shaped like a badge code
    bad_request = "bad_request"  # 400: any other malformed request
    not_signed_in = "not_signed_in"  # 401
    forbidden_origin = "forbidden_origin"  # 403: a cross-site write
    wrong_station = "wrong_station"  # 403: a staff session of another station
    station_closed = "station_closed"  # 403: captured after an organizer closed the station
    not_checked_in = "not_checked_in"  # 403: an attendee's story where they never checked in
    not_author = "not_author"  # 403: someone else's conversation
    forbidden = "forbidden"  # 403: any other refusal
    not_found = "not_found"  # 404: no such record or page
    unknown_station = "unknown_station"  # 404: no active station has that code
    unknown_location = "unknown_location"  # 404
    unknown_badge = "unknown_badge"  # 404 on /api/badges, 422 in a conversation
    method_not_allowed = "method_not_allowed"  # 405
    request_timeout = "request_timeout"  # 408: the body did not arrive in time
    id_conflict = "id_conflict"  # 409 (conversations) or 422 (check-ins): the id is taken
    no_longer_editable = "no_longer_editable"  # 409: past the end of its local day
    body_too_large = "body_too_large"  # 413
    unsupported_media_type = "unsupported_media_type"  # 415: not application/json
    unknown_topic = "unknown_topic"  # 422: not one of the event's topics
    not_allowed = "not_allowed"  # 422: a field this author may not set
    too_many_requests = "too_many_requests"  # 429, with Retry-After
    internal_error = "internal_error"  # 500
    database_unavailable = "database_unavailable"  # 503, with Retry-After
    unavailable = "unavailable"  # 503: too busy for this address now, with Retry-After


@with_config(EXACT)
class Error(TypedDict):
    """Every error of the JSON API."""

    error: ErrorCode
    detail: Annotated[
        str | list[Any] | dict[str, Any], Field(description="what is wrong, for people")
    ]
