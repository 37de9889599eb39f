"""Rehearsal traffic through the real domain code, so screens can be tried before the day.

Every row it writes is marked as rehearsal: `flask --app tracker rehearsal clear` removes them.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from ..checkins import record as checkins
from ..contract.requests import ConversationIn
from ..event import lookups as events
from ..stories import record as conversations

STORIES = [
    "Onboarding took us two days instead of two weeks; the checklist was the difference.",
    "The new dashboard finally shows our regional managers what they asked for.",
    "Support answered at 2 a.m. our time and fixed the sync issue in one call.",
    "We would love a way to export reports straight into our planning tool.",
    "Pricing per seat is hard to explain to finance; a team plan would help.",
    "The mobile app is what our field staff actually use every day.",
    "Search got slow once we passed a million records; it is better since the update.",
    "Our auditors liked the access logs, that saved us a week.",
    "We rolled it out to three countries with almost no training.",
    "The API rate limits bit us during our yearly import.",
    "Integration with our CRM is the reason we renewed.",
    "Notifications are too noisy; we need a digest.",
    "The demo of the analytics expo answered a question we have had for a year.",
    "Our customers notice the faster checkout, complaints dropped.",
    "Single sign-on setup was confusing, the docs skip a step.",
    "We want to tell our story at the next user conference.",
]
STAFF = ["Aoife", "Sam", "Priya", "Jonas", "Maya", "Luis", "Chen", "Fatima"]
OWNERS = ["Account team", "Support lead", "Product manager"]


@dataclass
class Tally:
    checkins: int = 0
    counted: int = 0
    conversations: int = 0
    follow_ups: int = 0


def _nps(rng: random.Random) -> int | None:
    if rng.random() < 0.1:
        return None
    return rng.choices(range(11), weights=[1, 1, 1, 1, 2, 3, 4, 8, 12, 18, 20])[0]


def step(
    db: Database,
    event: dict,
    stations: list[dict],
    pool: list[str],
    rng: random.Random,
    tally: Tally,
) -> None:
    """One engagement: a check-in (new or returning attendee), sometimes a logged conversation."""
    station = rng.choice(stations)
    token = rng.choice(pool) if pool and rng.random() < 0.4 else None
    result = checkins.check_in(db, event, station["code"], token, rehearsal=True)
    if result.new_identity:
        pool.append(result.attendee["token"])
    tally.checkins += 1
    tally.counted += int(result.checkin["counted"])
    if rng.random() < 0.35:
        follow_up = rng.random() < 0.2
        data = ConversationIn(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            station=station["code"],
            story=rng.choice(STORIES),
            nps=_nps(rng),
            topics=rng.sample(event["topics"], k=min(len(event["topics"]), rng.randint(0, 2))),
            follow_up=follow_up,
            contact=f"visitor{rng.randint(100, 999)}@example.com" if follow_up else None,
            owner=rng.choice(OWNERS) if follow_up else None,
            public=rng.random() < 0.7,
            attendee_badge=result.attendee["badge"],
            captured_at=datetime.now(UTC),
        )
        author = conversations.Author("staff", station["id"], staff_name=rng.choice(STAFF))
        conversations.record(db, event, data, author, rehearsal=True)
        tally.conversations += 1
        tally.follow_ups += int(follow_up)


def run(
    db: Database,
    event: dict,
    rate: float,
    minutes: float,
    wait: bool = True,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """About `rate` check-ins a second for `minutes`; without `wait`, the same traffic at once."""
    if rate <= 0 or minutes <= 0:
        raise ValueError("rate and minutes must be positive")
    stations = events.stations(db, event["id"])
    if not stations:
        raise ValueError("the event has no active station")
    rng = random.Random(seed)
    tally, pool = Tally(), list[str]()
    total = round(rate * minutes * 60)
    start = time.monotonic()
    for i in range(total):
        if wait:
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        step(db, event, stations, pool, rng, tally)
        if progress:
            progress(1)
    return tally
