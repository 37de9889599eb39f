"""The shape of GET /api/insights (the Experience Analytics Expo, tracker/insights.py), beside the
other shapes of tracker/shapes.py and published the same way."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from .shapes import EXACT, Nps

# ---- /api/insights: the Experience Analytics Expo (tracker/insights.py) ----------------------

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
class WallStory(TypedDict):
    story: Annotated[str, Field(description="plain text, at most 240 characters")]
    station: str
    location: str
    location_slug: str
    nps: int | None
    band: NpsBand | None
    topics: list[str]
    at: str


@with_config(EXACT)
class EmployeeWallStory(TypedDict):
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
    stories: list[WallStory]
    employee_stories: Annotated[
        list[EmployeeWallStory],
        Field(description="employees' approved stories; empty when the event has none"),
    ]
    updated_at: str
