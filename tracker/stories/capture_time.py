"""When a conversation happened, and until when its author may change it: device clocks are
believed within reason, and days are the location's own."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..store import db as dbm
from ..store.db import Row

EARLY_SLACK = timedelta(days=1)  # captures may start the day before the event's first day
LATE_SLACK = timedelta(minutes=5)  # a device clock this far ahead of the server is believed
NO_START_WINDOW = timedelta(days=7)  # without starts_at: how far back a capture may be


def plausible_capture(event: Row, device_at: str | None, received_at: str) -> str:
    """When a conversation took place: the device's time when it is plausible, else when the
    server received it. Implausible: ahead of the server by more than LATE_SLACK, or before the
    event (its starts_at, in its time zone, less EARLY_SLACK; without one, NO_START_WINDOW
    before receipt). A tablet left at 2000-01-01 or a day ahead is then still listed and
    editable on the day (README, Plan B); the device's own time is kept apart."""
    if device_at is None:
        return received_at
    received = dbm.parse_iso(received_at)
    if event.get("starts_at"):
        first_day = datetime.combine(
            date.fromisoformat(event["starts_at"]), time.min, tzinfo=ZoneInfo(event["timezone"])
        )
        earliest = first_day - EARLY_SLACK
    else:
        earliest = received - NO_START_WINDOW
    device = dbm.parse_iso(device_at)
    if device < earliest or device > received + LATE_SLACK:
        return received_at
    return device_at


def local_day(moment: str, timezone: str) -> date:
    """The date on the location's clock of an ISO UTC time."""
    return dbm.parse_iso(moment).astimezone(ZoneInfo(timezone)).date()


def happened_at(row: Row) -> str:
    """When the conversation took place: as captured, unless the device clock ran ahead of the
    server's (then when the server received it)."""
    return str(min(row["captured_at"], row["received_at"]))


def editable(row: Row, now: str | None = None) -> bool:
    """Until the end of the location's local day on which it was captured (clock skew clamped)."""
    tz = row["location_timezone"]
    return local_day(happened_at(row), tz) >= local_day(now or dbm.utcnow(), tz)


def utc_bounds(day: date, timezone: str) -> tuple[str, str]:
    """The UTC start and end (exclusive) of a local day, as ISO times."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return dbm.iso(start), dbm.iso(start + timedelta(days=1))
