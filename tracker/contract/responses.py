"""What the domain returns and the JSON API answers: one definition per shape.

The domain builds these dicts (mypy holds every literal to its TypedDict: a missing or an extra
key fails the type check), the web layer sends them as they are, and /openapi.json publishes
their JSON schemas through pydantic's TypeAdapter, with `additionalProperties: false`, so a
test validating real answers against the document fails on any field added in one place only.
Request bodies are pydantic models, in tracker/contract/requests.py; errors in errors.py.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    count: Annotated[
        int, Field(description="employees' stories approved for screens, voided ones left out")
    ]
    recent: list[EmployeeStory]


@with_config(EXACT)
class EventRef(TypedDict):
    slug: str
    name: str
    goal: int
    timezone: str
    country: Annotated[
        str | None,
        Field(description="the country of the event's time zone: how its clocks are written"),
    ]
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
    milestone_epoch: Annotated[
        str,
        Field(
            description="which run of the day the milestones belong to: it moves when rehearsal"
            " data is cleared or the goal changes, and screens celebrate afresh under a new one"
        ),
    ]
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
    parked: Annotated[
        int, Field(description="records central refused, kept for an organizer to retry or discard")
    ]


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
    clock_offset_seconds: Annotated[
        float | None,
        Field(description="central's clock minus this node's, measured at each call (null: never)"),
    ]


@with_config(EXACT)
class Replication(TypedDict):
    """Central's Litestream replica (TRACKER_REPLICA), as the process supervising it sees it."""

    state: Annotated[
        Literal["ok", "degraded", "down"],
        Field(
            description="down: Litestream is not running (being restarted, or no server process"
            " supervises it); degraded: running, but the replica is further behind than"
            " REPLICA_MAX_LAG_SECONDS or Litestream reports trouble"
        ),
    ]
    lag_seconds: Annotated[
        float | None,
        Field(
            description="since the replica was last known to hold every commit (about a second"
            " when all is well; null: not known yet)"
        ),
    ]
    error: Annotated[str | None, Field(description="what is wrong, or null")]
    restarts: Annotated[int, Field(description="times Litestream was started again")]


@with_config(EXACT)
class Health(TypedDict):
    status: Literal["ok", "error"]
    schema_version: int
    database: Annotated[str, Field(description='"ok", or what is wrong with it')]
    forward: NotRequired[Annotated[Backlog, Field(description="on a location node only")]]
    link: NotRequired[Annotated[NodeLink, Field(description="on a location node only")]]
    replication: NotRequired[
        Annotated[
            Replication,
            Field(description="on a central with TRACKER_REPLICA set (200 even when not ok)"),
        ]
    ]


@with_config(EXACT)
class Badge(TypedDict):
    """A badge code that belongs to an attendee of the event (GET /api/badges/<badge>)."""

    badge: str


# ---- GET /api/insights: the Experience Analytics Expo (tracker/figures/insights.py) ----

NpsBand = Literal["promoter", "passive", "detractor"]


@with_config(EXACT)
class InsightEvent(TypedDict):
    slug: str
    name: str


@with_config(EXACT)
class InsightFilters(TypedDict):
    topic: str | None
    location: Annotated[str | None, Field(description="a location's slug")]
    band: NpsBand | None
    theme: Annotated[int | None, Field(description="a theme's id (one of choices.themes)")]


@with_config(EXACT)
class InsightTheme(TypedDict):
    """A theme /insights may name: its public name only (never a phrase read from stories
    that are not approved and public), its size and NPS."""

    id: int
    label: str
    size: int
    nps: Nps


@with_config(EXACT)
class InsightTalk(TypedDict):
    """What detractors and what promoters talk about: the themes with the most of each."""

    detractors: list[InsightTheme]
    promoters: list[InsightTheme]


@with_config(EXACT)
class InsightPlace(TypedDict):
    slug: str
    name: str
    country: str


@with_config(EXACT)
class InsightChoices(TypedDict):
    """What the kiosk offers to tap, the same whatever is chosen."""

    topics: list[str]
    locations: list[InsightPlace]
    bands: list[NpsBand]
    themes: Annotated[
        list[InsightTheme], Field(description="the themes that may be named here, largest first")
    ]


@with_config(EXACT)
class LocationNps(TypedDict):
    slug: str
    name: str
    country: str
    nps: Nps


@with_config(EXACT)
class TopicNps(TypedDict):
    topic: str
    conversations: Annotated[int, Field(description="customers' conversations naming the topic")]
    nps: Nps


@with_config(EXACT)
class HourNps(TypedDict):
    hour: Annotated[
        int, Field(description="hour of the day (0-23) on each location's own clock", ge=0, le=23)
    ]
    conversations: int
    nps: Nps


@with_config(EXACT)
class InsightStory(TypedDict):
    story: Annotated[str, Field(description="plain text, at most 240 characters")]
    station: str
    location: str
    location_slug: str
    nps: int | None
    band: NpsBand | None
    topics: list[str]
    at: str


@with_config(EXACT)
class InsightEmployeeStory(TypedDict):
    story: Annotated[str, Field(description="plain text, at most 240 characters")]
    location: str
    at: str


@with_config(EXACT)
class Insights(TypedDict):
    """GET /api/insights: customers' NPS and topics, and the wall of approved public stories,
    under the chosen filters. Never a name, e-mail, contact, badge or staff name; never voided,
    rehearsal or employees' rows in the figures."""

    event: InsightEvent
    filters: InsightFilters
    choices: InsightChoices
    nps: Nps
    locations: list[LocationNps]
    topics: list[TopicNps]
    hours: list[HourNps]
    stories: list[InsightStory]
    talk: InsightTalk
    employee_stories: Annotated[
        list[InsightEmployeeStory],
        Field(description="employees' approved stories; empty when the event has none"),
    ]
    updated_at: str


@with_config(EXACT)
class ThemeOut(TypedDict):
    """One theme, as an organizer sees it (GET /api/themes)."""

    id: Annotated[int, Field(description="stable for the event's life: actions point at it")]
    label: str
    size: Annotated[
        int, Field(description="its stories that count now (voided, held, rehearsal out)")
    ]
    nps: Nps
    conversations: Annotated[
        list[str], Field(description="the ids its conversations were created with, newest first")
    ]
    hidden: Annotated[bool, Field(description="hidden by an organizer: on no public surface")]
    language: Annotated[
        str | None, Field(description="the language most of its stories are told in")
    ]


@with_config(EXACT)
class ThemesOut(TypedDict):
    """GET /api/themes: what the stories have in common, largest theme first."""

    themes: list[ThemeOut]
    unthemed: Annotated[
        list[str], Field(description="ids of the stories in no theme (yet), newest first")
    ]
    voice: Annotated[Literal["customers", "employees"], Field(description="whose stories")]
